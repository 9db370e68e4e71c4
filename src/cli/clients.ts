/**
 * The clients the common flags describe, made one way for every command: the chain
 * (`--subtensor.network` / `--subtensor.chain_endpoint`), the hub (`--hub-url`, `--hf-token`) and a
 * wallet (`--wallet.*`). Each loads its module when called, so a command group pays only for the
 * clients it uses (`flock hub` never loads polkadot).
 */
import type { SubtensorChain } from '../chain/subtensor/index.js';
import { redactEndpoint, resolveEndpoint } from '../chain/subtensor/network.js';
import type { Wallet } from '../chain/wallet/index.js';
import type { HubClient, HubClientOptions } from '../hub/index.js';
import { errorMessage } from '../util/errors.js';
import type { CommandContext } from './context.js';
import type { HubOptions, SubtensorOptions, WalletOptions } from './options.js';

/**
 * The endpoint the subtensor flags name, by btcli's precedence: an explicit (flag or config file)
 * `--subtensor.chain_endpoint` beats an explicit `--subtensor.network`, which beats the
 * environment (`BT_SUBTENSOR_CHAIN_ENDPOINT`, then `BT_SUBTENSOR_NETWORK`), then `finney`.
 */
export function subtensorEndpoint(ctx: CommandContext<SubtensorOptions>): string {
  return resolveEndpoint({
    network: ctx.opts['subtensor.network'],
    chainEndpoint: ctx.opts['subtensor.chain_endpoint'],
    networkSource: ctx.source('subtensor.network'),
    chainEndpointSource: ctx.source('subtensor.chain_endpoint'),
  });
}

export interface ConnectFromFlagsOptions {
  /** The endpoint, when the command resolved it already (default: `subtensorEndpoint(ctx)`). */
  endpoint?: string;
  /**
   * Keep trying a node that cannot be reached: the first retry after this many milliseconds,
   * doubling up to a minute (a validator started before its node waits for it). Without it, an
   * unreachable node is an error at once.
   */
  retryMs?: number;
}

/** Connect to the chain the subtensor flags name. */
export async function connectFromFlags(ctx: CommandContext<SubtensorOptions>, options: ConnectFromFlagsOptions = {}): Promise<SubtensorChain> {
  const { SubtensorChain, ChainConnectionError } = await import('../chain/subtensor/index.js');
  const endpoint = options.endpoint ?? subtensorEndpoint(ctx);
  ctx.log.info(`connecting to ${redactEndpoint(endpoint)}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await SubtensorChain.connect({ endpoint, log: ctx.log, connectTimeoutMs: 15_000 });
    } catch (err) {
      if (options.retryMs === undefined || !(err instanceof ChainConnectionError)) throw err;
      const wait = Math.min(60_000, options.retryMs * 2 ** Math.min(attempt - 1, 10));
      ctx.log.warning(`${errorMessage(err)}; retrying in ${(wait / 1000).toFixed(1)} s`, { attempt });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * A client of the hub the hub flags name (`--hub-url` / `HF_ENDPOINT`, `--hf-token` / `HF_TOKEN`;
 * an empty token counts as none). `options` adds the command's own settings (cache, timeouts).
 */
export async function hubClientFromFlags(ctx: CommandContext<HubOptions>, options: Omit<HubClientOptions, 'hubUrl' | 'token' | 'log'> = {}): Promise<HubClient> {
  const { HubClient } = await import('../hub/index.js');
  return new HubClient({ ...options, hubUrl: ctx.opts.hubUrl, token: ctx.opts.hfToken || undefined, log: ctx.log });
}

/** The wallet the `--wallet.*` flags name (for any command that signs or names a key). */
export async function walletFromFlags(opts: WalletOptions): Promise<Wallet> {
  const { Wallet } = await import('../chain/wallet/index.js');
  return new Wallet({ name: opts['wallet.name'], hotkey: opts['wallet.hotkey'], path: opts['wallet.path'] });
}

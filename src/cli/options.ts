/**
 * Flags shared by several command groups, spelled as Bittensor and Hugging Face users expect.
 * Each `add…Options` adds its flags (with their environment variables) to a command; the values
 * are read with `cmd.opts()` under the dotted names (`opts['wallet.name']`).
 */
import { Command, Option, InvalidArgumentError as InvalidOptionArgument } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_WALLET_PATH = join(homedir(), '.bittensor', 'wallets');

export function addWalletOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--wallet.name <name>', 'wallet (coldkey) name').env('BT_WALLET_NAME').default('default'))
    .addOption(new Option('--wallet.hotkey <name>', 'hotkey name').env('BT_WALLET_HOTKEY').default('default'))
    .addOption(new Option('--wallet.path <dir>', 'wallets folder').env('BT_WALLET_PATH').default('~/.bittensor/wallets/'));
}

export function addSubtensorOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--subtensor.network <network>', 'finney | test | archive | local | ws(s)://URL')
      .env('BT_SUBTENSOR_NETWORK').default('finney'))
    .addOption(new Option('--subtensor.chain_endpoint <url>', 'node endpoint; overrides --subtensor.network')
      .env('BT_SUBTENSOR_CHAIN_ENDPOINT'));
}

export function addNetuidOption(cmd: Command, defaultNetuid?: number): Command {
  const opt = new Option('--netuid <n>', 'subnet id').argParser(parseNonNegativeInt('--netuid'));
  if (defaultNetuid !== undefined) opt.default(defaultNetuid);
  return cmd.addOption(opt);
}

export function addHubOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--hub-url <url>', 'Hugging Face Hub endpoint (a local hub: http://127.0.0.1:8077)')
      .env('HF_ENDPOINT').default('https://huggingface.co'))
    .addOption(new Option('--hf-token <token>', 'Hugging Face token (prefer the HF_TOKEN variable)').env('HF_TOKEN'));
}

/** `--json`: one JSON document on stdout for scripts. */
export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object on stdout', false);
}

export function parseNonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidOptionArgument(`${flag} must be a non-negative integer, got "${value}"`);
    return Number(value);
  };
}

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidOptionArgument(`${flag} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}


/** Expand a leading `~` the way Bittensor does for `--wallet.path`. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

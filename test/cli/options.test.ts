/** Typed options: a command's schema over commander's values, config-file values, and the endpoint from the subtensor flags. */
import { Command, Option } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { subtensorEndpoint } from '../../src/cli/clients.js';
import { applyConfig, optionSource, parseOptions, type CommandContext } from '../../src/cli/context.js';
import {
  addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions, flag, jsonSchema, nonNegativeInt, parsePositiveInt, positiveInt,
  subtensorSchema, text, walletSchema,
} from '../../src/cli/options.js';
import type { ConfigValues } from '../../src/util/config-file.js';
import { UsageError } from '../../src/util/errors.js';
import { createLogger } from '../../src/util/log.js';

const config = (entries: [string, string | number | boolean][]): ConfigValues => new Map(entries);

const schema = z.object({
  ...walletSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt, maxRows: positiveInt.optional(), near: flag, hfToken: text.optional(),
});

/** A leaf command with wallet, netuid, --json, --max-rows, --near and --hf-token, parsed from `args`. */
function command(args: string[], config?: ConfigValues): Command {
  const program = new Command('flock').exitOverride();
  const cmd = program.command('x').exitOverride().action(() => undefined);
  addJsonOption(addNetuidOption(addWalletOptions(cmd)))
    .option('--max-rows <n>', 'rows', parsePositiveInt('--max-rows'))
    .option('--near', 'near', false)
    .addOption(new Option('--hf-token <token>', 'token'));
  program.parse(['node', 'flock', 'x', ...args]);
  if (config) applyConfig(cmd, config);
  return cmd;
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a usage error');
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('parseOptions', () => {
  it('gives typed values from flags, with defaults', () => {
    const opts = parseOptions(command(['--netuid', '3', '--json', '--wallet.name', 'alice']), schema);
    expect(opts).toEqual({
      'wallet.name': 'alice', 'wallet.hotkey': 'default', 'wallet.path': '~/.bittensor/wallets/', json: true, netuid: 3, near: false,
      maxRows: undefined, hfToken: undefined,
    });
  });

  it('takes config-file scalars as the flags would: numbers as names, yes/no as switches', () => {
    const opts = parseOptions(command([], config([['wallet.hotkey', 7], ['netuid', 2], ['near', 'yes'], ['json', 0], ['max-rows', '10']])), schema);
    expect(opts).toMatchObject({ 'wallet.hotkey': '7', netuid: 2, near: true, json: false, maxRows: 10 });
  });

  it('a missing required option, or a bad value from a config file, is a usage error naming the flag and the source', () => {
    expect(usageError(() => parseOptions(command([]), schema)).message).toBe('--netuid is required');
    const bad = usageError(() => parseOptions(command([], config([['netuid', -1], ['near', 'maybe']])), schema));
    expect(bad.exitCode).toBe(2);
    expect(bad.message).toBe('--netuid must be a non-negative integer, got -1 (from the config file)');
    expect(bad.details).toEqual(['--near must be true or false, got "maybe" (from the config file)']);
    const unparsable = usageError(() => command(['--netuid', '1'], config([['max-rows', 'ten']])));
    expect(unparsable.message).toBe('--max-rows from the config file: --max-rows must be a positive integer, got "ten"');
  });

  it('never repeats a secret in the message', () => {
    const err = usageError(() => parseOptions(command(['--netuid', '1'], config([['hf-token', 'tok']])), schema.extend({ hfToken: positiveInt })));
    expect(err.message).toBe('--hf-token must be a positive integer (from the config file)');
  });

  it('a schema naming an option the command does not have is a bug, not a usage error', () => {
    const err = (() => { try { parseOptions(command(['--netuid', '1']), schema.extend({ nope: flag })); } catch (e) { return e; } })();
    expect(err).not.toBeInstanceOf(UsageError);
    expect(String(err)).toContain('"nope"');
  });
});

describe('subtensorEndpoint', () => {
  function endpointFor(args: string[], config?: ConfigValues): string {
    const program = new Command('flock').exitOverride();
    const cmd = program.command('x').exitOverride().action(() => undefined);
    addSubtensorOptions(cmd);
    program.parse(['node', 'flock', 'x', ...args]);
    if (config) applyConfig(cmd, config);
    const ctx: CommandContext<z.output<typeof subtensorSchema>> = {
      log: createLogger({ level: 'error' }), opts: parseOptions(cmd, subtensorSchema), interactive: false,
      source: (key) => optionSource(cmd, key),
    };
    return subtensorEndpoint(ctx);
  }

  it('explicit endpoint > explicit network > environment > finney', () => {
    expect(endpointFor([])).toBe('wss://entrypoint-finney.opentensor.ai:443');
    process.env['BT_SUBTENSOR_CHAIN_ENDPOINT'] = 'ws://env-endpoint:1';
    expect(endpointFor([])).toBe('ws://env-endpoint:1');
    expect(endpointFor(['--subtensor.network', 'local'])).toBe('ws://127.0.0.1:9944');
    expect(endpointFor([], config([['subtensor.network', 'test']]))).toBe('wss://test.finney.opentensor.ai:443');
    expect(endpointFor(['--subtensor.network', 'local', '--subtensor.chain_endpoint', '10.0.0.1:9944'])).toBe('ws://10.0.0.1:9944');
  });
});

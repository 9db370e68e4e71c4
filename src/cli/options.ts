/**
 * Flags shared by several command groups, spelled as Bittensor and Hugging Face users expect.
 * Each `add…Options` adds its flags (with their environment variables) to a command, and the
 * matching `…Schema` types and checks their values; a command's schema is a `z.object` over its
 * options' attribute names (`'wallet.name'`, `hubUrl`), spreading the shared schemas' `shape`s.
 * The primitives below (`text`, `flag`, `nonNegativeInt`, …) accept what commander produces from
 * flags and the environment and what a config file may hold (numbers and booleans as YAML or JSON
 * scalars), and say what a bad value should have been.
 */
import { Command, Option, InvalidArgumentError as InvalidOptionArgument } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

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

// ── option value schemas ─────────────────────────────────────────────────────────────────────

/** A name, path or URL; a config file's number or boolean (`hotkey: 1`) is taken as its text. */
export const text = z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string({ error: 'must be text' }));

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

/** A switch: true or false (a config file may also say yes/no, on/off or 1/0); absent is false. */
export const flag = z.preprocess((v) => {
  if (v === undefined) return false;
  const word = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'number' ? String(v) : undefined;
  if (word !== undefined && TRUE_WORDS.has(word)) return true;
  if (word !== undefined && FALSE_WORDS.has(word)) return false;
  return v;
}, z.boolean({ error: 'must be true or false' }));

function intAtLeast(min: number, message: string) {
  return z.number({ error: message }).int({ error: message }).min(min, { error: message });
}

export const nonNegativeInt = intAtLeast(0, 'must be a non-negative integer');
export const positiveInt = intAtLeast(1, 'must be a positive integer');

/** One of a fixed list of words (what `Option.choices` offers on the command line). */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

/** A repeatable option collected into a list (a config file gives one value). */
export const textList = z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string(), { error: 'must be a list of text' }));

export const walletSchema = z.object({ 'wallet.name': text, 'wallet.hotkey': text, 'wallet.path': text });
export type WalletOptions = z.output<typeof walletSchema>;

export const subtensorSchema = z.object({ 'subtensor.network': text, 'subtensor.chain_endpoint': text.optional() });
export type SubtensorOptions = z.output<typeof subtensorSchema>;

export const hubSchema = z.object({ hubUrl: text, hfToken: text.optional() });
export type HubOptions = z.output<typeof hubSchema>;

export const jsonSchema = z.object({ json: flag });

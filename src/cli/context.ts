/**
 * What every command action gets: its merged options (flags > environment > config file >
 * btcli config > defaults), parsed once by the command's schema into a typed object, and a logger
 * set up from the `--logging.*` flags. A value the schema refuses is a usage error (exit 2) naming
 * the flag, the value and where it came from.
 */
import { Command, type OptionValueSource } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { ValueSource } from '../chain/subtensor/network.js';
import { btcliDefaults, loadConfigFile, type ConfigValues } from '../util/config-file.js';
import { UsageError, errorMessage } from '../util/errors.js';
import { createLogger, type Logger, type LogLevel } from '../util/log.js';
import { flag, text } from './options.js';

/** A command's options: a `z.object` over its options' attribute names (see options.ts). */
export type OptionsSchema = z.ZodObject;

export interface CommandContext<O = Record<never, never>> {
  log: Logger;
  /** Options of the action's command, config-file values applied, as its schema parsed them. */
  opts: O;
  /** Where an option's value came from: a flag (`cli`), the environment, the config file, its default. */
  source(key: Extract<keyof O, string>): ValueSource;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  interactive: boolean;
}

/** The root command's own options (`flock --config … --logging.… GROUP …`). */
const rootSchema = z.object({
  config: text.optional(),
  'logging.debug': flag,
  'logging.trace': flag,
  'logging.info': flag,
  'logging.json': flag,
  'logging.record_log': flag,
  'logging.logging_dir': text.optional(),
});

/** Options whose values are never repeated in messages. */
const SECRET_OPTIONS = new Set(['hfToken', 'token', 'mnemonic', 'seed', 'password']);

/** Commands that run for a long time log at INFO unless told otherwise; the rest at WARNING (btlogging's default). */
const daemonDefaults = new WeakSet<Command>();
export function markLongRunning(cmd: Command): Command {
  daemonDefaults.add(cmd);
  return cmd;
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Apply config-file values to every option the user did not set by flag or environment. */
export function applyConfig(cmd: Command, values: ConfigValues): void {
  for (const option of cmd.options) {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const name = option.long?.replace(/^--/, '') ?? key;
    const value = values.get(name) ?? values.get(key);
    if (value === undefined) continue;
    let parsed: unknown = value;
    if (option.parseArg && typeof value === 'string') {
      try {
        parsed = option.parseArg(value, undefined);
      } catch (err) {
        throw new UsageError(`${option.long ?? key} from the config file: ${errorMessage(err)}`);
      }
    }
    cmd.setOptionValueWithSource(key, parsed, 'config');
  }
}

const VALUE_SOURCES = new Map<OptionValueSource | undefined, ValueSource>([['cli', 'cli'], ['env', 'env'], ['config', 'config'], ['default', 'default']]);

/** Where the value of option `key` of `cmd` came from, as the chain client's endpoint resolution names it. */
export function optionSource(cmd: Command, key: string): ValueSource {
  return VALUE_SOURCES.get(cmd.getOptionValueSource(key));
}

/**
 * The command's options parsed by `schema`: every key of the schema must be an option of the
 * command (anything else is a bug, not a usage error); a value it refuses is a usage error.
 */
export function parseOptions<S extends OptionsSchema>(cmd: Command, schema: S): z.output<S> {
  const byKey = new Map(cmd.options.map((o) => [o.attributeName(), o]));
  for (const key of Object.keys(schema.shape)) {
    if (!byKey.has(key)) throw new Error(`the options schema of "${cmd.name()}" names "${key}", which is not one of its options`);
  }
  const values = cmd.opts();
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const option = byKey.get(key);
    const name = option?.long ?? key;
    const value = values[key];
    if (value === undefined) return `${name} is required`;
    const source = cmd.getOptionValueSource(key);
    const from = source === 'config' ? ' (from the config file)' : source === 'env' && option?.envVar ? ` (from ${option.envVar})` : '';
    const shown = SECRET_OPTIONS.has(key) ? '' : `, got ${JSON.stringify(value)}`;
    return `${name} ${issue.message}${shown}${from}`;
  });
  throw new UsageError(problems[0]!, { details: problems.slice(1) });
}

function levelFrom(g: z.output<typeof rootSchema>, longRunning: boolean): LogLevel {
  if (g['logging.trace']) return 'trace';
  if (g['logging.debug']) return 'debug';
  if (g['logging.info']) return 'info';
  return longRunning ? 'info' : 'warning';
}

export function contextFor<S extends OptionsSchema>(cmd: Command, schema: S): CommandContext<z.output<S>> {
  const g = parseOptions(rootOf(cmd), rootSchema);
  const btcli = btcliDefaults(loadConfigFile(join(homedir(), '.bittensor', 'config.yml'), { optional: true }));
  const values: ConfigValues = new Map([...btcli, ...(g.config ? loadConfigFile(g.config) : new Map())]);
  applyConfig(cmd, values);
  const opts = parseOptions(cmd, schema);
  const dir = g['logging.logging_dir'];
  const log = createLogger({
    level: levelFrom(g, daemonDefaults.has(cmd)),
    json: g['logging.json'],
    file: g['logging.record_log'] && dir ? join(dir.replace(/^~(?=\/|$)/, homedir()), `${cmd.name()}.log`) : undefined,
  });
  return { log, opts, source: (key) => optionSource(cmd, key), interactive: Boolean(process.stderr.isTTY) };
}

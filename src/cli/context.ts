/**
 * What every command action gets: its merged options (flags > environment > config file >
 * btcli config > defaults) and a logger set up from the `--logging.*` flags.
 */
import { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { btcliDefaults, loadConfigFile, type ConfigValues } from '../util/config-file.js';
import { createLogger, type Logger, type LogLevel } from '../util/log.js';

export interface CommandContext {
  log: Logger;
  /** Options of the action's command, config-file values applied. */
  opts: Record<string, unknown>;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  interactive: boolean;
}

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

function globalOpts(cmd: Command): Record<string, unknown> {
  return rootOf(cmd).opts();
}

/** Apply config-file values to every option the user did not set by flag or environment. */
export function applyConfig(cmd: Command, values: ConfigValues): void {
  for (const option of cmd.options) {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const name = option.long?.replace(/^--/, '') ?? key;
    const value = values.get(name) ?? values.get(key);
    if (value !== undefined) cmd.setOptionValueWithSource(key, option.parseArg && typeof value === 'string' ? option.parseArg(value, undefined) : value, 'config');
  }
}

function levelFrom(g: Record<string, unknown>, longRunning: boolean): LogLevel {
  if (g['logging.trace']) return 'trace';
  if (g['logging.debug']) return 'debug';
  if (g['logging.info']) return 'info';
  return longRunning ? 'info' : 'warning';
}

export function contextFor(cmd: Command): CommandContext {
  const g = globalOpts(cmd);
  const configPath = g['config'] as string | undefined;
  const btcli = btcliDefaults(loadConfigFile(join(homedir(), '.bittensor', 'config.yml'), { optional: true }));
  const values: ConfigValues = new Map([...btcli, ...(configPath ? loadConfigFile(configPath) : new Map())]);
  applyConfig(cmd, values);
  const dir = g['logging.logging_dir'] as string | undefined;
  const log = createLogger({
    level: levelFrom(g, daemonDefaults.has(cmd)),
    json: Boolean(g['logging.json']),
    file: g['logging.record_log'] && dir ? join(dir.replace(/^~(?=\/|$)/, homedir()), `${cmd.name()}.log`) : undefined,
  });
  return { log, opts: cmd.opts(), interactive: Boolean(process.stderr.isTTY) };
}

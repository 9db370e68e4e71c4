/**
 * Logging in Bittensor's line format (`YYYY-MM-DD HH:MM:SS | LEVEL | message`), built on pino.
 *
 * pino gives levels, child loggers with bound fields and cheap disabled levels; a small destination
 * turns each JSON record into a Bittensor line (bound fields appended as `key=value`), or keeps the
 * JSON when `--logging.json` is set. Every line passes through `redactSecrets` first, then
 * `printable`: messages and fields carry text from outside (repo ids, commitments, reasons), whose
 * control characters are written as escapes, so one record is one line and cannot drive the terminal.
 *
 * Levels follow btlogging: trace, debug, info, success, warning, error, critical.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { redactSecrets } from './redact.js';
import { printable } from './terminal-text.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'success' | 'warning' | 'error' | 'critical';

const PINO_LEVEL: Record<LogLevel, number> = {
  trace: 10, debug: 20, info: 30, success: 35, warning: 40, error: 50, critical: 60,
};
const LABEL: Record<number, string> = {
  10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 35: 'SUCCESS', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL',
};

export interface LogOptions {
  level: LogLevel;
  /** Emit pino's JSON records instead of Bittensor lines. */
  json?: boolean;
  /** Also append every line to this file. */
  file?: string;
  /** Where lines go (default: stderr, so stdout stays clean for `--json` results). */
  stream?: { write(line: string): unknown };
}

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  success(msg: string, fields?: Record<string, unknown>): void;
  warning(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  critical(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry these fields too (e.g. `{ uid: 7 }`). */
  child(fields: Record<string, unknown>): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as btlogging prints it. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** Turn one pino JSON record into a Bittensor log line (one line: control characters escaped). */
export function formatRecord(record: Record<string, unknown>): string {
  const { level, time, msg, pid: _pid, hostname: _host, ...fields } = record;
  const label = LABEL[level as number] ?? String(level);
  const extra = Object.entries(fields).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
  const text = extra ? `${String(msg ?? '')} ${extra}` : String(msg ?? '');
  return `${formatTimestamp(Number(time))} | ${label} | ${printable(text)}`;
}

class LineDestination {
  private file?: WriteStream;
  constructor(private readonly opts: LogOptions) {
    if (opts.file) {
      mkdirSync(dirname(opts.file), { recursive: true });
      this.file = createWriteStream(opts.file, { flags: 'a', mode: 0o600 });
    }
  }
  write(chunk: string): void {
    const safe = redactSecrets(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk);
    let line: string;
    if (this.opts.json) {
      line = printable(safe, { json: true }); // still valid JSON: only characters inside strings change
    } else {
      try {
        line = formatRecord(JSON.parse(safe) as Record<string, unknown>);
      } catch {
        line = printable(safe);
      }
    }
    (this.opts.stream ?? process.stderr).write(`${line}\n`);
    this.file?.write(`${line}\n`);
  }
}

function wrap(p: PinoLogger<'success' | 'warning' | 'critical'>): Logger {
  const at = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    const fn = (p as unknown as Record<string, (o: object, m: string) => void>)[lvl]!;
    fn.call(p, fields ?? {}, msg);
  };
  return {
    trace: at('trace'), debug: at('debug'), info: at('info'), success: at('success'),
    warning: at('warning'), error: at('error'), critical: at('critical'),
    child: (fields) => wrap(p.child(fields)),
    isLevelEnabled: (lvl) => p.isLevelEnabled(lvl),
  };
}

/** Build a logger. Most code takes a `Logger` argument; the CLI builds one from the flags. */
export function createLogger(options: LogOptions): Logger {
  const p = pino(
    {
      level: options.level,
      customLevels: { success: PINO_LEVEL.success, warning: PINO_LEVEL.warning, critical: PINO_LEVEL.critical },
      useOnlyCustomLevels: false,
      base: undefined,
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    new LineDestination(options),
  );
  return wrap(p as PinoLogger<'success' | 'warning' | 'critical'>);
}

/** A logger that drops everything (library default when the caller passes none). */
export const silentLogger: Logger = createLogger({ level: 'silent' as LogLevel, stream: { write: () => undefined } });

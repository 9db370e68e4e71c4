/**
 * `action(schema, handler)` wraps a command's handler: it builds the context (the options parsed
 * by `schema`: see context.ts), runs the handler, and turns any error into a readable message
 * (never a stack trace unless `--logging.trace`) and an exit code: 0 success, 1 failure or invalid
 * input, 2 usage error.
 */
import { Command } from 'commander';
import type { z } from 'zod';
import { FlockError, errorMessage } from '../util/errors.js';
import { redactSecrets } from '../util/redact.js';
import { printable } from '../util/terminal-text.js';
import { contextFor, type CommandContext, type OptionsSchema } from './context.js';

export type Handler<O> = (ctx: CommandContext<O>, ...args: string[]) => Promise<number | void> | number | void;

export function action<S extends OptionsSchema>(schema: S, handler: Handler<z.output<S>>) {
  return async function (this: Command, ...rest: unknown[]): Promise<void> {
    // commander passes positional args, then the options object, then the command
    const cmd = rest[rest.length - 1] as Command;
    const args = rest.slice(0, -2) as string[];
    try {
      const ctx = contextFor(cmd, schema);
      const code = await handler(ctx, ...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      reportError(err, cmd);
    }
  };
}

export function reportError(err: unknown, cmd?: Command): void {
  const trace = cmd ? Boolean(rootOpts(cmd)['logging.trace']) : false;
  const text = trace && err instanceof Error && !(err instanceof FlockError) ? err.stack ?? err.message : errorMessage(err);
  // messages may quote outside text (a commitment, a repo id, a dataset row): lines stay lines, nothing else acts on the terminal
  process.stderr.write(`error: ${printable(redactSecrets(text), { newlines: true })}\n`);
  process.exitCode = err instanceof FlockError ? err.exitCode : 1;
}

function rootOpts(cmd: Command): Record<string, unknown> {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c.opts();
}

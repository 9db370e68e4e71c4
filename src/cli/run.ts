/**
 * `action(handler)` wraps a command's handler: it builds the context, runs the handler, and turns
 * any error into a readable message (never a stack trace unless `--logging.trace`) and an exit
 * code: 0 success, 1 failure or invalid input, 2 usage error.
 */
import { Command } from 'commander';
import { FlockError, errorMessage } from '../util/errors.js';
import { redactSecrets } from '../util/redact.js';
import { contextFor, type CommandContext } from './context.js';

export type Handler = (ctx: CommandContext, ...args: string[]) => Promise<number | void> | number | void;

export function action(handler: Handler) {
  return async function (this: Command, ...rest: unknown[]): Promise<void> {
    // commander passes positional args, then the options object, then the command
    const cmd = rest[rest.length - 1] as Command;
    const args = rest.slice(0, -2) as string[];
    try {
      const ctx = contextFor(cmd);
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
  process.stderr.write(`error: ${redactSecrets(text)}\n`);
  process.exitCode = err instanceof FlockError ? err.exitCode : 1;
}

function rootOpts(cmd: Command): Record<string, unknown> {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c.opts();
}

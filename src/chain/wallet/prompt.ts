/**
 * Password input: btwallet's environment variable first, then a hidden terminal prompt
 * (`Enter your password: `, trimmed). Without a terminal and without the variable, a clear error.
 */
import { FlockError } from '../../util/errors.js';
import { passwordEnvName, passwordFromEnv } from './encryption.js';
import type { PasswordSource } from './keyfile.js';

// Keystrokes typed ahead of a prompt (e.g. a password and its confirmation arriving in one read)
// belong to the next prompt, not to the bin.
let typedAhead = '';

/** Read one line from the terminal without echoing it. */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!input.isTTY) {
      reject(new FlockError('a password is needed but there is no terminal to ask on'));
      return;
    }
    output.write(question);
    let value = '';
    let finished = false;
    const done = (err?: Error) => {
      finished = true;
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const feed = (chunk: string) => {
      const chars = [...chunk];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i]!;
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          // a CRLF pair ends one line, not two
          const next = ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1;
          typedAhead = chars.slice(next).join('');
          return done();
        }
        if (ch === '\u0003') return done(new FlockError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const onData = (chunk: string) => feed(chunk);
    input.setRawMode(true);
    const ahead = typedAhead;
    typedAhead = '';
    feed(ahead);
    if (finished) return;
    input.resume();
    input.setEncoding('utf8');
    input.on('data', onData);
  });
}

/** The password source the CLI uses: `BT_PW_…`, else a prompt when interactive. */
export function defaultPasswordSource(env: NodeJS.ProcessEnv = process.env): PasswordSource {
  return async (path: string) => {
    const fromEnv = passwordFromEnv(path, env);
    if (fromEnv !== undefined) return fromEnv;
    if (!process.stdin.isTTY) {
      throw new FlockError(`${path} is encrypted and there is no terminal to ask for its password`, {
        hint: `set ${passwordEnvName(path)} the way btwallet saves it (base64 of the password XOR-ed with the variable name)`,
      });
    }
    return (await promptHidden('Enter your password: ')).trim();
  };
}

/** A new password: from `BT_PW_…` when set, else asked twice on the terminal. */
export async function newPassword(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = passwordFromEnv(path, env);
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new FlockError(`no terminal to ask for a password for ${path}`, {
      hint: `set ${passwordEnvName(path)} (btwallet's format), or pass --no-use-password to leave the coldkey unencrypted`,
    });
  }
  const first = (await promptHidden('Specify password for key encryption: ')).trim();
  if (first.length < 6) throw new FlockError('password too short: use at least 6 characters');
  const second = (await promptHidden('Retype your password: ')).trim();
  if (first !== second) throw new FlockError('passwords do not match');
  return first;
}

/**
 * `flock hub serve|download|upload`: the local hub (a server speaking the subset of the Hugging
 * Face Hub API that FLockDataset uses), and downloading / uploading files of any hub — the real
 * one by default, a local one with `--hub-url` / `HF_ENDPOINT`.
 */
import { Command, Option } from 'commander';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { FULL_SHA, parseTokenSpec, startHubServer, validateFilePath, type HubClient, type HubToken } from '../hub/index.js';
import { FlockError, UsageError } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';
import { hubClientFromFlags } from './clients.js';
import {
  addHubOptions, addJsonOption, expandHome, flag, hubSchema, jsonSchema, nonNegativeInt, oneOf, parseNonNegativeInt, parsePositiveInt,
  positiveInt, text, textList,
} from './options.js';
import { markLongRunning, type CommandContext } from './context.js';
import { action } from './run.js';

const DEFAULT_HUB_DIR = '~/.flock/hub';

const serveSchema = z.object({ port: nonNegativeInt, host: text, dir: text, token: textList.optional() });

/** Options of every command that talks to a hub (`addClientOptions`, `--json`). */
const clientSchema = z.object({
  ...hubSchema.shape, ...jsonSchema.shape,
  type: oneOf(['dataset', 'model']), cacheDir: text.optional(), timeout: positiveInt, retries: nonNegativeInt,
});
type ClientOptions = z.output<typeof clientSchema>;
const downloadSchema = clientSchema.extend({ revision: text, path: textList.optional(), out: text.optional(), maxBytes: positiveInt.optional() });
const uploadSchema = clientSchema.extend({ pathInRepo: text.optional(), message: text.optional(), create: flag });

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function clientFor(ctx: CommandContext<ClientOptions>): Promise<HubClient> {
  const { cacheDir, timeout, retries } = ctx.opts;
  return hubClientFromFlags(ctx, { cacheDir: cacheDir ? expandHome(cacheDir) : undefined, timeoutMs: timeout * 1000, retries });
}

function tokensFrom(ctx: CommandContext<z.output<typeof serveSchema>>): HubToken[] {
  const specs = [...(ctx.opts.token ?? [])];
  const fromEnv = process.env.FLOCK_HUB_TOKENS;
  if (fromEnv) specs.push(...fromEnv.split(',').map((s) => s.trim()).filter(Boolean));
  return specs.map((spec) => {
    const colon = spec.indexOf(':');
    if (colon > 0) registerSecret(spec.slice(colon + 1));
    try {
      return parseTokenSpec(spec);
    } catch (err) {
      throw new UsageError(`--token: ${(err as Error).message}`);
    }
  });
}

async function serve(ctx: CommandContext<z.output<typeof serveSchema>>): Promise<number> {
  const tokens = tokensFrom(ctx);
  const dir = resolve(expandHome(ctx.opts.dir));
  const { port, host } = ctx.opts;
  const hub = await startHubServer({ dir, port, host, tokens, log: ctx.log }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new FlockError(`Port ${port} is already in use.`, { hint: 'Pick another --port (0 takes any free port), or stop the other hub.' });
    throw err;
  });
  ctx.log.info('local hub listening', { url: hub.url, dir, writers: [...new Set(tokens.map((t) => t.name))].join(',') || 'none' });
  process.stdout.write(`${hub.url}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      ctx.log.info('local hub stopping');
      void hub.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

async function download(ctx: CommandContext<z.output<typeof downloadSchema>>, repo: string): Promise<number> {
  const client = await clientFor(ctx);
  const { type, revision, path: wanted, maxBytes } = ctx.opts;
  // A full SHA with named files needs no network when they are cached already.
  const sha = FULL_SHA.test(revision) && wanted?.length ? revision : await client.resolveRevision({ repo, type, revision });
  const paths = wanted?.length ? wanted.map((p) => validateFilePath(p)) : (await client.listFiles({ repo, type, revision: sha })).map((f) => f.path);
  const out = ctx.opts.out ? resolve(expandHome(ctx.opts.out)) : undefined;
  const files: { path: string; local: string }[] = [];
  for (const path of paths) {
    const cached = await client.downloadFile({ repo, type, revision: sha, path, maxBytes });
    let local = cached;
    if (out) {
      local = join(out, ...path.split('/'));
      await mkdir(dirname(local), { recursive: true });
      await copyFile(cached, local);
    }
    ctx.log.info('downloaded', { path, local });
    files.push({ path, local });
  }
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ repo, type, revision: sha, files }, null, 2)}\n`);
  else process.stdout.write(`${repo}@${sha}\n${files.map((f) => `${f.path}\t${f.local}`).join('\n')}\n`);
  return 0;
}

async function upload(ctx: CommandContext<z.output<typeof uploadSchema>>, repo: string, localFiles: string[]): Promise<number> {
  const client = await clientFor(ctx);
  const { type } = ctx.opts;
  const prefix = ctx.opts.pathInRepo?.replace(/\/+$/, '');
  const files = localFiles.map((file) => ({ file, path: validateFilePath(prefix ? `${prefix}/${basename(file)}` : basename(file)) }));
  if (ctx.opts.create) await client.createRepo({ repo, type, existOk: true });
  const sha = await client.uploadFiles({ repo, type, files, message: ctx.opts.message });
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ repo, type, revision: sha, files: files.map((f) => f.path) })}\n`);
  else process.stdout.write(`${sha}\n`);
  return 0;
}

function addClientOptions(cmd: Command): Command {
  addHubOptions(cmd);
  return cmd
    .addOption(new Option('--type <type>', 'repository type: dataset or model').default('dataset'))
    .addOption(new Option('--cache-dir <dir>', 'Hugging Face cache root (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)'))
    .addOption(new Option('--timeout <seconds>', 'per-request timeout').argParser(parsePositiveInt('--timeout')).default(30))
    .addOption(new Option('--retries <n>', 'retries on network errors and 5xx').argParser(parseNonNegativeInt('--retries')).default(3));
}

export function register(program: Command): void {
  const hub = program.command('hub').description('the local hub, and downloading / uploading files of a hub (Hugging Face by default)');

  markLongRunning(hub.command('serve')
    .description('run a local hub: the subset of the Hugging Face Hub API FLockDataset uses, repos as git repositories on disk')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').argParser(parseNonNegativeInt('--port')).default(8077))
    .addOption(new Option('--host <host>', 'interface to listen on').default('127.0.0.1'))
    .addOption(new Option('--dir <dir>', 'data folder (repos, LFS objects); survives restarts').default(DEFAULT_HUB_DIR))
    .addOption(new Option('--token <name:token>', 'a write token owning namespace NAME (repeatable; also FLOCK_HUB_TOKENS=a:t1,b:t2)').argParser(collect))
    .action(action(serveSchema, serve)));

  addJsonOption(addClientOptions(hub.command('download')
    .description('download a repository\'s files at a revision into the Hugging Face cache (and optionally copy them to --out)')
    .argument('<repo>', 'namespace/name')
    .addOption(new Option('--revision <rev>', 'branch, tag, short or full commit SHA').default('main'))
    .addOption(new Option('--path <path>', 'only this file (repeatable)').argParser(collect))
    .addOption(new Option('--out <dir>', 'also copy the files into this folder'))
    .addOption(new Option('--max-bytes <n>', 'refuse files larger than this').argParser(parsePositiveInt('--max-bytes')))))
    .action(action(downloadSchema, download));

  addJsonOption(addClientOptions(hub.command('upload')
    .description('upload local files to a repository in one commit; prints the commit SHA')
    .argument('<repo>', 'namespace/name')
    .argument('<files...>', 'local files (stored under their base names)')
    .addOption(new Option('--path-in-repo <dir>', 'folder in the repository to put the files in'))
    .addOption(new Option('--message <text>', 'commit message'))
    .addOption(new Option('--create', 'create the repository first if it does not exist'))))
    // commander hands the variadic <files...> over as one array
    .action(action(uploadSchema, (ctx, repo, files) => upload(ctx, repo!, files as unknown as string[])));
}

/**
 * How to start a worker thread whose script is a module of this package: the compiled `.js`
 * sibling (dist/, the CLI); under vitest or tsx, where only the `.ts` source exists, a small
 * bootstrap registers tsx's loader in the worker and imports the source (Node 20 does not apply
 * `--import` loaders to a worker's own entry file).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerEntry {
  /** The script (a file URL) or, with `evalCode`, code to evaluate. */
  entry: URL | string;
  evalCode: boolean;
}

/**
 * The entry of the worker module `name` (without extension) next to the module at `base`
 * (pass `import.meta.url`).
 * @example const { entry, evalCode } = workerEntry(import.meta.url, 'worker'); new Worker(entry, { eval: evalCode })
 */
export function workerEntry(base: string, name: string): WorkerEntry {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return { entry: js, evalCode: false };
  // tsx's ESM register API (`tsx/esm/api`, import condition), located from its package.json
  const tsxDir = dirname(createRequire(base).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const ts = new URL(`./${name}.ts`, base).href;
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`, evalCode: true };
}

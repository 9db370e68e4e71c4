#!/usr/bin/env node
// Entry point of the `flock` command: runs the compiled CLI in dist/ (built by `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('error: flock is not built yet\n---> HINT: run `npm install` (or `npm run build`) in the repository first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);

/**
 * The one-way layering of src/ (docs/architecture.md, "What may import what"): every relative
 * import of every source file is read and checked against the folders its folder may use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

/** Folder → the folders of ours it may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  util: [],
  dataset: ['util'],
  hub: ['util'],
  chain: ['protocol', 'util'],
  engine: ['protocol', 'util'],
  evaluation: ['dataset', 'engine', 'hub', 'protocol', 'util'],
  published: ['chain', 'hub', 'protocol', 'util'],
  validator: ['evaluation', 'chain', 'dataset', 'engine', 'hub', 'protocol', 'util'],
  owner: ['chain', 'dataset', 'hub', 'protocol', 'util'],
  miner: ['evaluation', 'published', 'chain', 'dataset', 'engine', 'hub', 'protocol', 'util'],
  audit: ['evaluation', 'published', 'chain', 'dataset', 'engine', 'hub', 'protocol', 'util'],
  dashboard: ['published', 'chain', 'hub', 'protocol', 'util'],
  localnet: ['validator', 'miner', 'owner', 'evaluation', 'published', 'chain', 'dataset', 'engine', 'hub', 'protocol', 'util'],
  cli: ['validator', 'miner', 'owner', 'localnet', 'audit', 'dashboard', 'evaluation', 'published', 'chain', 'dataset', 'engine', 'hub', 'protocol', 'util'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder under src/ of a path. */
const layerOf = (path: string) => relative(SRC, path).split('/')[0]!;

/** Relative imports (static, dynamic and re-exports) of a file, resolved to paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s));
}

describe('layers', () => {
  it('every folder under src/ is placed in the layering', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(folders).toEqual(Object.keys(ALLOWED).sort());
  });

  it('imports go one way: roles → evaluation → services → protocol; nothing imports the CLI or a role it is not allowed', () => {
    const wrong: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from]!.includes(to)) wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the check itself sees imports (a wrong one would be caught)', () => {
    const file = join(SRC, 'protocol', 'recipe.ts');
    expect(importsOf(join(SRC, 'evaluation', 'evaluate.ts')).map(layerOf)).toContain('engine');
    expect(ALLOWED[layerOf(file)]!.includes('engine')).toBe(false);
  });
});

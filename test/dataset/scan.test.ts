import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatErrors, scanDataset, validateDataset } from '../../src/dataset/scan.js';
import { fingerprintRows } from '../../src/dataset/fingerprint-rows.js';
import { datasetIdentity } from '../../src/dataset/identity.js';
import { rowHash } from '../../src/dataset/canonical.js';
import { makeRows, toJsonl } from './synthetic.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'flock-scan-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => { const p = join(dir, name); writeFileSync(p, content); return p; };

const ok = '{"conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}';

describe('validateDataset', () => {
  it('returns canonical rows, their lines, identity and fingerprints for a valid file', async () => {
    const rows = makeRows(5, 20, 300);
    const p = file('valid.jsonl', '\n' + toJsonl(rows));
    const v = await validateDataset(p);
    expect(v.errors).toEqual([]);
    expect(v.errorCount).toBe(0);
    expect(v.rows).toEqual(rows);
    expect(v.lines).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(v.identity).toBe(datasetIdentity(rows.map(rowHash)));
    expect(Array.from(v.fingerprints.bands)).toEqual(Array.from(fingerprintRows(rows).bands));
  });

  it('reports every bad input as file:line: message and rejects the dataset', async () => {
    const lines = [
      ok,
      '{"conversations": [',                                                       // 2 invalid JSON
      '[1,2]',                                                                      // 3 not an object
      '{"conversations":[{"role":"human","content":"q"},{"role":"gpt","content":"a"}]}', // 4 wrong roles
      '{"conversations":[{"role":"user","content":""},{"role":"assistant","content":7}]}', // 5 empty / non-string
      '{"conversations":[{"role":"user","content":"q"},{"role":"user","content":"q"}]}', // 6 not alternating
      '{"conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"q"}]}', // 7 ends with user
      '{"system":"s"}',                                                             // 8 missing conversations
      '{"system":1,"conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}', // 9 system
      '{"__proto__":{},"conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}', // 10 __proto__
      '{"a":' + '['.repeat(50) + ']'.repeat(50) + '}',                             // 11 deep nesting
    ];
    const bad = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0xff, 0xfe, 0x0a])]); // 12 invalid UTF-8
    const p = file('bad.jsonl', bad);
    const v = await validateDataset(p);
    expect(v.rows).toEqual([]);
    const byLine = new Map<number, string[]>();
    for (const e of v.errors) {
      const m = /^(.*):(\d+): (.*)$/.exec(e)!;
      expect(m[1]).toBe(p);
      byLine.set(Number(m[2]), [...(byLine.get(Number(m[2])) ?? []), m[3]!]);
    }
    expect([...byLine.keys()]).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(byLine.get(2)![0]).toMatch(/^invalid JSON/);
    expect(byLine.get(3)).toEqual(['a row must be a JSON object, got array']);
    expect(byLine.get(4)!.join()).toMatch(/unknown role "human".*convert --from sharegpt/);
    expect(byLine.get(5)).toEqual(['turn 1: "content" is empty', 'turn 2: "content" must be a non-empty string, got number']);
    expect(byLine.get(6)![0]).toMatch(/alternate/);
    expect(byLine.get(7)![0]).toMatch(/ends with the user/);
    expect(byLine.get(8)).toEqual(['missing "conversations"']);
    expect(byLine.get(9)).toEqual(['"system" must be a string or null, got number']);
    expect(byLine.get(10)).toEqual(['forbidden key "__proto__"']);
    expect(byLine.get(11)).toEqual(['JSON nested deeper than 16 levels']);
    expect(byLine.get(12)![0]).toMatch(/^invalid UTF-8/);
    expect(v.errorCount).toBe(v.errors.length);
  });

  it('keeps the first 50 errors and counts the rest', async () => {
    const p = file('many.jsonl', 'nope\n'.repeat(120));
    const scan = await scanDataset(p);
    expect(scan.valid).toBe(false);
    expect(scan.errors).toHaveLength(50);
    expect(scan.errorCount).toBe(120);
    expect(scan.errors[49]).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:50: invalid JSON`));
    expect(formatErrors(scan).at(-1)).toBe('… and 70 more errors');
  });

  it('ignores rows past maxRows (first rows kept) and reports the truncation', async () => {
    const rows = makeRows(6, 10, 100);
    const p = file('trunc.jsonl', toJsonl(rows) + 'garbage past the limit\n');
    const scan = await scanDataset(p, { limits: { maxRows: 4 } });
    expect(scan.valid).toBe(true);
    expect(scan.truncated).toBe(true);
    expect(scan.fingerprints.identity).toBe(datasetIdentity(rows.slice(0, 4).map(rowHash)));
    expect(scan.stats.rows).toBe(4);
  });

  it('rejects an empty file and a file of blank lines', async () => {
    expect((await validateDataset(file('e.jsonl', ''))).errors).toEqual([`${join(dir, 'e.jsonl')}:1: the file is empty: a dataset needs at least one row`]);
    expect((await validateDataset(file('b.jsonl', '\n\n'))).errorCount).toBe(1);
  });
});

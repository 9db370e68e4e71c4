import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { readJsonlRows, nestingExceeds, type JsonlItem } from '../../src/dataset/reader.js';
import { FlockError } from '../../src/util/errors.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'flock-reader-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function readAll(path: string, limits = {}): Promise<JsonlItem[]> {
  const out: JsonlItem[] = [];
  for await (const item of readJsonlRows(path, limits)) out.push(item);
  return out;
}

const rowsOf = (items: JsonlItem[]) => items.filter((i) => i.kind === 'row').map((i) => i.kind === 'row' && [i.line, i.value]);
const errorsOf = (items: JsonlItem[]) => items.filter((i) => i.kind === 'error').map((i) => i.kind === 'error' && `${i.line}: ${i.message}`);

describe('readJsonlRows', () => {
  it('yields rows with line numbers, skipping blank lines, and an end item', async () => {
    const items = await readAll(file('ok.jsonl', '{"a":1}\n\n  \n{"b":2}\n'));
    expect(rowsOf(items)).toEqual([[1, { a: 1 }], [4, { b: 2 }]]);
    expect(items.at(-1)).toEqual({ kind: 'end', lines: 4, rows: 2, bytes: 20, truncated: false });
  });

  it('tolerates a BOM, CRLF line ends and a missing final newline', async () => {
    const items = await readAll(file('bom.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\r\n{"b":"x"}')])));
    expect(rowsOf(items)).toEqual([[1, { a: 1 }], [2, { b: 'x' }]]);
    expect(errorsOf(items)).toEqual([]);
  });

  it('reports invalid JSON with its line and keeps going', async () => {
    const items = await readAll(file('bad.jsonl', '{"a":1}\n{"a":\n{"c":3}\n'));
    expect(errorsOf(items)).toHaveLength(1);
    expect(errorsOf(items)[0]).toMatch(/^2: invalid JSON: /);
    expect(rowsOf(items)).toEqual([[1, { a: 1 }], [3, { c: 3 }]]);
  });

  it('reports invalid UTF-8 with the byte offset', async () => {
    const bad = Buffer.concat([Buffer.from('{"a":"ok"}\n{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    const items = await readAll(file('utf8.jsonl', bad));
    expect(errorsOf(items)).toEqual(['2: invalid UTF-8 at byte 7 of the line']);
  });

  it('reports an empty file and a file of blank lines', async () => {
    expect(errorsOf(await readAll(file('empty.jsonl', '')))).toEqual(['1: the file is empty: a dataset needs at least one row']);
    expect(errorsOf(await readAll(file('blank.jsonl', '\n \n\t\r\n')))).toEqual(['3: the file holds only blank lines: a dataset needs at least one row']);
  });

  it('refuses absurdly deep nesting before parsing', async () => {
    const deep = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    const items = await readAll(file('deep.jsonl', deep + '\n'), { maxDepth: 16 });
    expect(errorsOf(items)).toEqual(['1: JSON nested deeper than 16 levels']);
  });

  it('ignores brackets inside strings when measuring depth', () => {
    expect(nestingExceeds('{"a":"[[[[[[\\"[[["}', 2)).toBe(false);
    expect(nestingExceeds('[[[1]]]', 2)).toBe(true);
  });

  it('refuses a line over the limit, inside one chunk and across chunks, and reads on', async () => {
    const long = '{"a":"' + 'x'.repeat(3_000_000) + '"}';
    const items = await readAll(file('long.jsonl', `{"a":1}\n${long}\n{"b":2}\n`), { maxLineBytes: 1000 });
    expect(errorsOf(items)).toEqual(['2: the line is longer than 1000 B (the line limit); refused without reading it whole']);
    expect(rowsOf(items)).toEqual([[1, { a: 1 }], [3, { b: 2 }]]);
    const short = await readAll(file('short-long.jsonl', `${'{"a":"' + 'y'.repeat(2000) + '"}'}\n{"b":2}`), { maxLineBytes: 1000 });
    expect(errorsOf(short)).toHaveLength(1);
    expect(rowsOf(short)).toEqual([[2, { b: 2 }]]);
  });

  it('refuses a single 64 MiB line while reading, with bounded memory', async () => {
    const p = join(dir, 'huge.jsonl');
    const out = createWriteStream(p);
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    out.write('{"conversations":"');
    for (let i = 0; i < 64; i++) if (!out.write(piece)) await once(out, 'drain');
    out.end('"}\n');
    await once(out, 'finish');
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const items: JsonlItem[] = [];
    for await (const item of readJsonlRows(p, { maxLineBytes: 4 * 1024 * 1024 })) {
      items.push(item);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(errorsOf(items)).toEqual(['1: the line is longer than 4 MiB (the line limit); refused without reading it whole']);
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a file over the size limit without reading it', async () => {
    const items = await readAll(file('big.jsonl', '{"a":1}\n'.repeat(100)), { maxFileBytes: 100 });
    expect(errorsOf(items)).toEqual(['1: the file is 800 B (800 bytes), over the limit of 100 B; refused without reading it']);
    expect(rowsOf(items)).toEqual([]);
  });

  it('stops after maxRows rows and says so', async () => {
    const items = await readAll(file('many.jsonl', '{"a":1}\n{"a":2}\n\n{"a":3}\n'), { maxRows: 2 });
    expect(rowsOf(items)).toEqual([[1, { a: 1 }], [2, { a: 2 }]]);
    expect(items.at(-1)).toMatchObject({ kind: 'end', rows: 2, truncated: true });
  });

  it('throws a FlockError for a missing file or a folder', async () => {
    await expect(readAll(join(dir, 'nope.jsonl'))).rejects.toThrow(FlockError);
    await expect(readAll(join(dir, 'nope.jsonl'))).rejects.toThrow(/no such file/);
    await expect(readAll(dir)).rejects.toThrow(FlockError);
  });
});

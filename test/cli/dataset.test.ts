import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFlock } from '../helpers/cli.js';
import { makeRows, recased, shuffled, toJsonl } from '../dataset/synthetic.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'flock-cli-dataset-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => { const p = join(dir, name); writeFileSync(p, content); return p; };
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

const rows = makeRows(7, 40, 400);

describe('flock dataset check', () => {
  it('passes the shipped sample (exit 0) and prints a summary', () => {
    const r = runFlock(['dataset', 'check', 'examples/sample.jsonl']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/examples\/sample\.jsonl: valid/);
    expect(r.stdout).toMatch(/rows\s+\d+/);
    expect(r.stdout).toMatch(/estimated tokens/);
  });

  it('prints JSON with --json, counting duplicates inside the file', () => {
    const p = file('dups.jsonl', toJsonl([...rows, rows[3], recased([rows[5]!])[0]]));
    const r = runFlock(['dataset', 'check', p, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ valid: true, rows: 42, exactDuplicates: 1, nearDuplicates: 1, errorCount: 0 });
  });

  it('exits 1 on an invalid file with file:line messages and no stack trace', () => {
    const p = file('bad.jsonl', `${JSON.stringify(rows[0])}\n{"conversations": 3}\n[]\n`);
    const r = runFlock(['dataset', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${p}:2: "conversations" must be an array of turns, got number`);
    expect(r.stderr).toContain(`${p}:3: a row must be a JSON object, got array`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const j = runFlock(['dataset', 'check', p, '--json']);
    expect(j.code).toBe(1);
    expect(json(j.stdout)).toMatchObject({ valid: false, errorCount: 2 });
  });

  it('exits 1 for a missing file, an empty file and an over-long line', () => {
    expect(runFlock(['dataset', 'check', join(dir, 'absent.jsonl')])).toMatchObject({ code: 1, stderr: expect.stringContaining('no such file') });
    expect(runFlock(['dataset', 'check', file('empty.jsonl', '')]).code).toBe(1);
    const long = file('long.jsonl', `{"x":"${'y'.repeat(5000)}"}\n`);
    const r = runFlock(['dataset', 'check', long, '--max-line-bytes', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(':1: the line is longer than');
  });

  it('honours --max-rows', () => {
    const p = file('maxrows.jsonl', toJsonl(rows) + 'not json\n');
    const r = runFlock(['dataset', 'check', p, '--max-rows', '10', '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ rows: 10, truncated: true });
  });

  it('exits 2 on usage errors', () => {
    expect(runFlock(['dataset', 'check']).code).toBe(2);
    expect(runFlock(['dataset', 'check', 'examples/sample.jsonl', '--max-rows', 'ten']).code).toBe(2);
    expect(runFlock(['dataset', 'check', 'examples/sample.jsonl', '--no-such-flag']).code).toBe(2);
    expect(runFlock(['dataset', 'convert', 'examples/sample.jsonl', '--from', 'csv', '-o', join(dir, 'x.jsonl')]).code).toBe(2);
    expect(runFlock(['dataset', 'dedupe', 'examples/sample.jsonl']).code).toBe(2);
    expect(runFlock(['dataset', 'contamination', 'examples/sample.jsonl']).code).toBe(2);
    expect(runFlock(['dataset', 'dedupe', 'examples/sample.jsonl', '-o', 'examples/sample.jsonl']).code).toBe(2);
  });
});

describe('flock dataset stats', () => {
  it('prints distributions and duplicate clusters', () => {
    const p = file('stats.jsonl', toJsonl([...rows, rows[1], rows[1]]));
    const r = runFlock(['dataset', 'stats', p, '--json']);
    expect(r.code).toBe(0);
    const s = json(r.stdout);
    expect(s).toMatchObject({ rows: 42, exactDuplicateClusters: [[2, 41, 42]] });
    expect(s['charactersPerRow']).toHaveProperty('p90');
    const human = runFlock(['dataset', 'stats', p]);
    expect(human.stdout).toContain('lines 2, 41, 42');
  });
});

describe('flock dataset dedupe', () => {
  it('removes exact duplicates, and near ones with --near', () => {
    const input = file('dd.jsonl', toJsonl([rows[0], rows[1], rows[0], recased([rows[1]!])[0], rows[2]]));
    const out = join(dir, 'dd-out.jsonl');
    const r = runFlock(['dataset', 'dedupe', input, '-o', out, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ rows: 5, kept: 4, removedExact: [{ line: 3, duplicateOf: 1 }], removedNear: [] });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(4);
    const near = runFlock(['dataset', 'dedupe', input, '-o', out, '--near']);
    expect(near.code).toBe(0);
    expect(near.stdout).toContain('removed 1 near duplicate: lines 4');
    expect(runFlock(['dataset', 'check', out, '--json']).stdout).toContain('"rows": 3');
  });
});

describe('flock dataset convert', () => {
  it('converts each format into a valid dataset', () => {
    const cases: [string, unknown[]][] = [
      ['sharegpt', [{ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] }]],
      ['alpaca', [{ instruction: 'Add', input: '2 and 2', output: '4' }]],
      ['openai', [{ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }]],
    ];
    for (const [format, input] of cases) {
      const out = join(dir, `conv-${format}.jsonl`);
      const r = runFlock(['dataset', 'convert', file(`in-${format}.jsonl`, toJsonl(input)), '--from', format, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(runFlock(['dataset', 'check', out]).code).toBe(0);
    }
    expect(readFileSync(join(dir, 'conv-alpaca.jsonl'), 'utf8')).toBe('{"system":null,"conversations":[{"role":"user","content":"Add\\n\\n2 and 2"},{"role":"assistant","content":"4"}]}\n');
  });

  it('writes nothing on errors (exit 1), or the good rows with --skip-invalid', () => {
    const input = file('conv-bad.jsonl', toJsonl([{ instruction: 'a', output: 'b' }, { instruction: 'c' }, { instruction: 'd', output: 'e' }]));
    const out = join(dir, 'conv-bad-out.jsonl');
    const r = runFlock(['dataset', 'convert', input, '--from', 'alpaca', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${input}:2: "output" must be a string, got undefined`);
    expect(existsSync(out)).toBe(false);
    const s = runFlock(['dataset', 'convert', input, '--from', 'alpaca', '-o', out, '--skip-invalid']);
    expect(s.code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('flock dataset compare and contamination', () => {
  it('compare prints O(A,B): 1 for a shuffled re-cased copy, about 0 for unrelated data', () => {
    const a = file('a.jsonl', toJsonl(rows));
    const copy = file('copy.jsonl', toJsonl(shuffled(recased(rows))));
    const other = file('other.jsonl', toJsonl(makeRows(8, 40, 400)));
    const r = runFlock(['dataset', 'compare', copy, a, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ overlap: 1, exact: 0, near: 40, copy: true, identical: false });
    expect(json(runFlock(['dataset', 'compare', other, a, '--json']).stdout)).toMatchObject({ overlap: 0, copy: false });
    expect(runFlock(['dataset', 'compare', a, a]).stdout).toContain('O(A,B) = 1.0000');
  });

  it('compare prints both directions and judges a diluted copy: a copy under protocol 2, not under protocol 1', () => {
    const original = makeRows(20, 120, 300);
    const orig = file('orig.jsonl', toJsonl(original));
    const diluted = file('diluted.jsonl', toJsonl(shuffled([...original, ...makeRows(21, 240, 300)])));
    const v2 = runFlock(['dataset', 'compare', diluted, orig, '--json']);
    expect(v2.code, v2.stderr).toBe(0);
    expect(json(v2.stdout)).toMatchObject({ matched: 120, containment: 1, heldRows: 120, protocol: 2, containmentMinRows: 100, copy: true, copyBy: 'containment' });
    expect(json(v2.stdout).overlap).toBeCloseTo(1 / 3, 12);
    expect(json(v2.stdout).reason).toMatch(/^it holds 120 of the 120 rows \(100%\) of B/);
    const v1 = runFlock(['dataset', 'compare', diluted, orig, '--json', '--protocol', '1']);
    expect(json(v1.stdout)).toMatchObject({ containment: 1, protocol: 1, containmentMinRows: null, copy: false, copyBy: null });
    const text = runFlock(['dataset', 'compare', diluted, orig]).stdout;
    expect(text).toContain("C(A,B) = 1.0000: A holds 120 of B's 120 rows");
    expect(text).toContain('copy (protocol 2 defaults)');
    // a competition's own constants: a containment minimum above what A holds
    const comp = file('competition.json', JSON.stringify({ protocol: 2, id: '1', baseModel: { repo: 'a/b', revision: 'c'.repeat(40) }, scoring: { containmentMinRows: 121 } }));
    const own = runFlock(['dataset', 'compare', diluted, orig, '--json', '--competition', comp]);
    expect(json(own.stdout)).toMatchObject({ protocol: 2, containmentMinRows: 121, copy: false });
    expect(json(own.stdout).reason).toContain('120 held rows are under the 121');
    expect(runFlock(['dataset', 'compare', diluted, orig, '--protocol', '3']).code).toBe(2);
    expect(runFlock(['dataset', 'compare', diluted, orig, '--competition', file('bad-competition.json', '{"protocol": 9}')]).code).toBe(2);
  });

  it('contamination exits 1 over the limit and lists the lines, 0 within it', () => {
    const evalSet = file('eval.jsonl', toJsonl(rows.slice(0, 5)));
    const data = file('data.jsonl', toJsonl([...makeRows(9, 99, 400), rows[2]]));
    const r = runFlock(['dataset', 'contamination', data, '--eval', evalSet, '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ rows: 100, contaminated: 1, fraction: 0.01, overLimit: false, lines: [100] });
    const strict = runFlock(['dataset', 'contamination', data, '--eval', evalSet, '--max-fraction', '0.005']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('lines 100');
    expect(runFlock(['dataset', 'contamination', data, '--eval', evalSet, '--max-fraction', '2']).code).toBe(2);
  });
});

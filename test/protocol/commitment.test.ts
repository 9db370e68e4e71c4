import { describe, expect, it } from 'vitest';
import {
  COMMITMENT_MAX_BYTES,
  commitmentForCompetition,
  formatCommitment,
  formatCompetitionPointer,
  parseCommitment,
  parseCompetitionPointer,
} from '../../src/protocol/commitment.js';
import { ProtocolError } from '../../src/protocol/result.js';

const SHA = '4f2c9a0b1d2e3f405162738495a6b7c8d9e0f1a2';

describe('miner commitment', () => {
  it('round-trips format → parse', () => {
    const c = { repoId: 'alice/my-dataset', competitionId: '1', revision: SHA };
    const text = formatCommitment(c);
    expect(text).toBe(`alice/my-dataset:1:${SHA}`);
    expect(parseCommitment(text)).toEqual({ ok: true, value: c });
    expect(parseCommitment(new TextEncoder().encode(text))).toEqual({ ok: true, value: c });
  });

  it('parses what the upstream FLock miner commits (namespace:competition:oid)', () => {
    // flockoff ModelId.to_compressed_str() with competition "1" and an HfApi.upload_file oid
    const r = parseCommitment(`FLock-io/flock-off_s1.v2:1:${SHA}`);
    expect(r.ok && r.value.repoId).toBe('FLock-io/flock-off_s1.v2');
  });

  it('accepts exactly 128 bytes and rejects 129', () => {
    // the name limit (96) bites before 128 bytes with a 1-char competition id, so use a long id
    const longId = 'c'.repeat(32);
    const name = 'n'.repeat(COMMITMENT_MAX_BYTES - `o/:${longId}:${SHA}`.length);
    const exact = `o/${name}:${longId}:${SHA}`;
    expect(new TextEncoder().encode(exact).length).toBe(128);
    expect(parseCommitment(exact).ok).toBe(true);
    const over = `o/${name}x:${longId}:${SHA}`;
    const r = parseCommitment(over);
    expect(r).toMatchObject({ ok: false, code: 'too_long' });
  });

  it('counts bytes, not characters', () => {
    // 45 three-byte characters = 135 bytes though only 45 chars
    const r = parseCommitment('é'.repeat(45) + `:1:${SHA}`);
    expect(r).toMatchObject({ ok: false, code: 'too_long' });
  });

  const hostile: Array<[string, string | Uint8Array, string, RegExp]> = [
    ['empty', '', 'empty', /empty/],
    ['invalid UTF-8', new Uint8Array([0x61, 0xff, 0x3a]), 'not_utf8', /UTF-8/],
    ['JSON pointer', `{"c":"1","r":"a/b","v":"${SHA}"}`, 'json_not_commitment', /JSON/],
    ['two parts', `alice/ds:${SHA}`, 'bad_format', /2 ":"-separated parts/],
    ['four parts', `alice/ds:1:${SHA}:x`, 'bad_format', /4 ":"-separated parts/],
    ['no owner', `my-dataset:1:${SHA}`, 'bad_repo_id', /owner\/name/],
    ['two slashes', `a/b/c:1:${SHA}`, 'bad_repo_id', /owner\/name/],
    ['space in name', `alice/my data:1:${SHA}`, 'bad_repo_id', /only letters/],
    ['leading dash', `alice/-ds:1:${SHA}`, 'bad_repo_id', /start and end/],
    ['double dash', `alice/a--b:1:${SHA}`, 'bad_repo_id', /"--"/],
    ['dot dot', `alice/a..b:1:${SHA}`, 'bad_repo_id', /"\.\."/],
    ['.git', `alice/ds.git:1:${SHA}`, 'bad_repo_id', /\.git/],
    ['path traversal', `../etc:1:${SHA}`, 'bad_repo_id', /empty owner|only letters|start and end/],
    ['newline', `alice/ds\n:1:${SHA}`, 'bad_repo_id', /only letters/],
    ['empty competition', `alice/ds::${SHA}`, 'bad_competition_id', /empty/],
    ['bad competition', `alice/ds:c 1:${SHA}`, 'bad_competition_id', /only letters/],
    ['branch', 'alice/ds:1:main', 'bad_revision', /branch or tag/],
    ['upstream None', 'alice/ds:1:None', 'bad_revision', /branch or tag/],
    ['short sha', 'alice/ds:1:4f2c9a0', 'bad_revision', /short SHA/],
    ['uppercase sha', `alice/ds:1:${SHA.toUpperCase()}`, 'bad_revision', /lowercase/],
    ['41 hex', `alice/ds:1:${SHA}a`, 'bad_revision', /not a commit SHA/],
    ['trailing space', `alice/ds:1:${SHA} `, 'bad_revision', /not a commit SHA/],
  ];
  for (const [name, input, code, reason] of hostile) {
    it(`rejects ${name} with a readable reason`, () => {
      const r = parseCommitment(input);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.code).toBe(code);
      expect(r.reason).toMatch(reason);
    });
  }

  it('never throws on random bytes', () => {
    let seed = 7;
    for (let n = 0; n < 2000; n++) {
      const len = n % 200;
      const bytes = new Uint8Array(len);
      for (let k = 0; k < len; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        bytes[k] = seed >>> 24;
      }
      const r = parseCommitment(bytes);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    }
  });

  it('format throws a ProtocolError naming the problem', () => {
    expect(() => formatCommitment({ repoId: 'alice/ds', competitionId: '1', revision: 'main' })).toThrow(ProtocolError);
    expect(() => formatCommitment({ repoId: 'alice/ds', competitionId: '1:2', revision: SHA })).toThrow(/parts/);
  });
});

describe('commitment for the active competition', () => {
  it('accepts the active competition and names both ids otherwise', () => {
    expect(commitmentForCompetition(`alice/ds:1:${SHA}`, '1').ok).toBe(true);
    const r = commitmentForCompetition(`alice/ds:2:${SHA}`, '1');
    expect(r).toMatchObject({ ok: false, code: 'other_competition' });
    if (!r.ok) expect(r.reason).toBe('the commitment is for competition "2"; the active competition is "1"');
    expect(commitmentForCompetition('alice/ds:1:main', '1')).toMatchObject({ ok: false, code: 'bad_revision' });
  });
});

describe('competition pointer', () => {
  const p = { competitionId: '1', repoId: 'flock/competition-1', revision: SHA };

  it('round-trips with keys in c, r, v order', () => {
    const text = formatCompetitionPointer(p);
    expect(text).toBe(`{"c":"1","r":"flock/competition-1","v":"${SHA}"}`);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(128);
    expect(parseCompetitionPointer(text)).toEqual({ ok: true, value: p });
  });

  it('accepts any key order and whitespace but not extra keys', () => {
    expect(parseCompetitionPointer(`{ "v":"${SHA}", "c":"1", "r":"flock/competition-1" }`)).toEqual({ ok: true, value: p });
    expect(parseCompetitionPointer(`{"c":"1","r":"flock/c","v":"${SHA}","x":1}`)).toMatchObject({ ok: false, code: 'bad_format' });
  });

  it.each([
    ['not JSON', 'c=1', 'bad_json'],
    ['array', '[1,2]', 'bad_format'],
    ['number field', `{"c":1,"r":"a/b","v":"${SHA}"}`, 'bad_format'],
    ['bad repo', `{"c":"1","r":"ab","v":"${SHA}"}`, 'bad_repo_id'],
    ['branch', '{"c":"1","r":"a/b","v":"main"}', 'bad_revision'],
    ['bad id', `{"c":"","r":"a/b","v":"${SHA}"}`, 'bad_competition_id'],
    ['too long', `{"c":"1","r":"a/${'b'.repeat(90)}","v":"${SHA}"}`, 'too_long'],
  ])('rejects %s', (_name, input, code) => {
    expect(parseCompetitionPointer(input)).toMatchObject({ ok: false, code });
  });

  it('format refuses a pointer over 128 bytes', () => {
    expect(() => formatCompetitionPointer({ ...p, repoId: `flock/${'x'.repeat(90)}` })).toThrow(/128/);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidHubInputError, validateFilePath, validateRepoName, validateRevision } from '../../src/hub/index.js';
import { repoIdProblem } from '../../src/protocol/commitment.js';

describe('validateRepoName', () => {
  it('accepts Hugging Face style ids', () => {
    expect(validateRepoName('alice/my-dataset_v1.2')).toEqual({ namespace: 'alice', repo: 'my-dataset_v1.2' });
    expect(validateRepoName('meta-llama/Llama-3.2-1B').repo).toBe('Llama-3.2-1B');
    expect(validateRepoName('_org/_data_')).toEqual({ namespace: '_org', repo: '_data_' });
  });
  it('accepts exactly the repo ids a miner commitment may name (the protocol and the hub agree)', () => {
    const ids = ['alice/ds', '_a/_b_', 'a/b-', 'a-/b', '.a/b', 'a/b.git', 'a--b/c', 'a/b..c', `a/${'x'.repeat(96)}`, `a/${'x'.repeat(97)}`,
      `${'o'.repeat(97)}/b`, 'a/é', 'a b/c', 'a/b/c', 'a/', 'x_/y.z_'];
    for (const id of ids) {
      let hubAccepts = true;
      try { validateRepoName(id); } catch { hubAccepts = false; }
      expect(hubAccepts, id).toBe(repoIdProblem(id) === null);
    }
  });
  it.each(['alice', 'a/b/c', '/b', 'a/', '../b', 'a/..', 'a--b/c', 'a/b..c', '.a/b', 'a/b-', 'a/b.git', 'a b/c', 'a/b\0', `a/${'x'.repeat(97)}`, 'a/é'])(
    'refuses %j', (name) => {
      expect(() => validateRepoName(name)).toThrow(InvalidHubInputError);
    });
});

describe('validateFilePath', () => {
  it('accepts ordinary relative paths', () => {
    for (const p of ['data.jsonl', 'dir/sub/model-00001-of-00002.safetensors', 'a b/c (1).txt', '.gitattributes']) expect(validateFilePath(p)).toBe(p);
  });
  it.each(['', '/etc/passwd', '../x', 'a/../b', 'a/./b', 'a//b', 'a/', 'a\\b', 'C:/x', 'a\0b', 'a\nb', '.git/config', '.GIT/x', 'a|b', 'a?b', ' a', 'x'.repeat(1025)])(
    'refuses %j', (p) => {
      expect(() => validateFilePath(p)).toThrow(InvalidHubInputError);
    });
  it('names the bad value without printing raw control characters', () => {
    expect(() => validateFilePath('a\0b')).toThrow('"a\\u0000b"');
  });
});

describe('validateRevision', () => {
  it('accepts branches, tags, SHAs and HEAD', () => {
    for (const r of ['main', 'v1.0', 'refs/pr/1', 'a'.repeat(40), 'abc1234', 'HEAD']) expect(validateRevision(r)).toBe(r);
  });
  it.each(['', '-x', '--output=/tmp/x', 'a..b', 'a//b', 'main/', 'x.lock', 'a b', 'a~1', 'a^{tree}', 'x'.repeat(201)])('refuses %j', (r) => {
    expect(() => validateRevision(r)).toThrow(InvalidHubInputError);
  });
});

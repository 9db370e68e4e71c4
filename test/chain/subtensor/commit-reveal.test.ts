import { describe, expect, it } from 'vitest';
import { commitHash, makeSalt } from '../../../src/chain/subtensor/commit-reveal.js';

describe('commit-reveal v2 hash', () => {
  it('matches the verified vector', () => {
    expect(commitHash({
      hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', netuid: 1,
      uids: [0, 1, 5], values: [65535, 32768, 1], salt: [1, 2, 3, 4, 5, 6, 7, 8], versionKey: 1000,
    })).toBe('0x345bbcac5e814a7f0df5b1522d60d61aca96acbed65fd9afcdfcb70cda046507');
  });

  it('changes with the salt; salts are 8 u16', () => {
    const base = { hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', netuid: 1, uids: [0], values: [65535], versionKey: 0 };
    const salt = makeSalt();
    expect(salt).toHaveLength(8);
    expect(salt.every((s) => Number.isInteger(s) && s >= 0 && s <= 65535)).toBe(true);
    expect(commitHash({ ...base, salt: [1] })).not.toBe(commitHash({ ...base, salt: [2] }));
  });
});

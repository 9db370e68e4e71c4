/** Typed storage access: metadata defaults, fast codecs agreeing with the registry, rollback of failed calls. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { DevnetChain, devAddress } from '../../../src/chain/devnet/chain.js';
import { encodeValue, fastCodecOf } from '../../../src/chain/devnet/metadata.js';

let chain: DevnetChain;
beforeAll(async () => { await cryptoWaitReady(); chain = new DevnetChain(undefined, { tempo: 10 }); });
afterAll(() => chain?.close());

describe('State', () => {
  it('falls back to the metadata default for absent items', () => {
    const s = chain.state();
    expect(s.num('subtensorModule', 'tempo', [42])).toBe(360); // storage default on finney
    expect(s.bool('subtensorModule', 'commitRevealWeightsEnabled', [42])).toBe(true);
    expect(s.get('subtensorModule', 'uids', [42, devAddress('Bob')])).toBeUndefined(); // Option item
    expect(s.numVec('subtensorModule', 'incentive', [42])).toEqual([]);
  });

  it('encodes the hot types by hand exactly as the registry does', () => {
    const cases: Array<[string, unknown]> = [
      ['weights', [[0, 1], [300, 65535]]], ['lastUpdate', [0n, 2n ** 40n]], ['incentive', [1, 65535]],
      ['active', [true, false, true]], ['burn', 123456789012n], ['tempo', 360],
    ];
    for (const [item, value] of cases) {
      const codec = fastCodecOf(chain.meta, 'subtensorModule', item)!;
      expect(codec, item).not.toBeNull();
      const fast = codec.encode(value);
      expect(u8aToHex(fast), item).toBe(u8aToHex(encodeValue(chain.meta, 'subtensorModule', item, value)));
      expect(codec.encode(codec.decode(fast)), item).toEqual(fast);
    }
  });

  it('drops the writes of a call that fails', () => {
    const s = chain.state();
    s.set('subtensorModule', 'tempo', [1], 20);
    expect(() => s.transactional(() => { s.set('subtensorModule', 'tempo', [1], 30); throw new Error('call failed'); })).toThrow('call failed');
    expect(s.num('subtensorModule', 'tempo', [1])).toBe(20);
    s.transactional(() => s.set('subtensorModule', 'tempo', [1], 40));
    expect(s.num('subtensorModule', 'tempo', [1])).toBe(40);
  });
});

/** The SQLite block store: versioned reads, key paging at a block, and all-or-nothing block writes. */
import { describe, expect, it } from 'vitest';
import { BlockStore, Overlay } from '../../../src/chain/devnet/store.js';

const k = (...bytes: number[]) => new Uint8Array(bytes);
const hex = (...bytes: number[]) => '0x' + bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
const block = (number: number) => ({ number, hash: `0x${String(number).padStart(64, '0')}`, header: '0x00', extrinsics: [] });

describe('BlockStore', () => {
  it('reads each key as of any block, deletions included', () => {
    const store = new BlockStore();
    store.commitBlock(block(0), new Map([[hex(1, 1), k(10)], [hex(1, 2), k(20)]]));
    store.commitBlock(block(1), new Map([[hex(1, 1), k(11)], [hex(1, 2), null]]));
    expect(store.get(k(1, 1), 0)).toEqual(k(10));
    expect(store.get(k(1, 1), 1)).toEqual(k(11));
    expect(store.get(k(1, 1))).toEqual(k(11));
    expect(store.get(k(1, 2), 0)).toEqual(k(20));
    expect(store.get(k(1, 2), 1)).toBeNull();
    expect(store.bestNumber()).toBe(1);
    store.close();
  });

  it('pages the live keys under a prefix at a block', () => {
    const store = new BlockStore();
    store.commitBlock(block(0), new Map([[hex(5, 1), k(1)], [hex(5, 2), k(1)], [hex(5, 3), k(1)], [hex(6, 0), k(1)]]));
    store.commitBlock(block(1), new Map([[hex(5, 2), null], [hex(5, 4), k(1)]]));
    expect(store.keysPaged(k(5), 10, undefined, 0)).toEqual([k(5, 1), k(5, 2), k(5, 3)]);
    expect(store.keysPaged(k(5), 10, undefined, 1)).toEqual([k(5, 1), k(5, 3), k(5, 4)]);
    expect(store.keysPaged(k(5), 1, k(5, 1), 1)).toEqual([k(5, 3)]);
    store.close();
  });

  it('writes a block whole or not at all', () => {
    const store = new BlockStore();
    store.commitBlock(block(0), new Map([[hex(1), k(1)]]));
    // Block 0 again: the header insert fails, so its storage changes must not land either.
    expect(() => store.commitBlock(block(0), new Map([[hex(1), k(2)], [hex(2), k(2)]]))).toThrow(/UNIQUE/);
    expect(store.get(k(1))).toEqual(k(1));
    expect(store.get(k(2))).toBeNull();
    store.close();
  });
});

describe('Overlay', () => {
  it('keeps a child layer\'s writes only when committed into its parent', () => {
    const base = new Overlay(() => k(0));
    const kept = base.child();
    kept.put(k(1), k(1));
    kept.commitInto(base);
    const dropped = base.child();
    dropped.put(k(2), k(2));
    expect(base.get(k(1))).toEqual(k(1));
    expect(base.get(k(2))).toEqual(k(0)); // falls through to the store
    expect([...base.changes().keys()]).toEqual([hex(1)]);
  });
});

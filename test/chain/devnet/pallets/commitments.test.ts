/** Commitments.set_commitment at the pallet level, on a real in-memory devnet state. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Codec } from '@polkadot/types/types';
import { DevnetChain, devAddress } from '../../../../src/chain/devnet/chain.js';
import { setCommitment } from '../../../../src/chain/devnet/pallets/commitments.js';
import { dispatchErrorOf, runtimeAt } from '../helpers.js';

let chain: DevnetChain;
let alice: string;
beforeAll(async () => {
  await cryptoWaitReady();
  chain = new DevnetChain(undefined, { tempo: 360 });
  alice = devAddress('Alice');
});
afterAll(() => chain?.close());

const info = (fields: Array<Record<string, string>>): Codec =>
  chain.meta.registry.createType('PalletCommitmentsCommitmentInfo', { fields });
const raw = (text: string) => ({ [`Raw${Buffer.byteLength(text)}`]: text });

describe('set_commitment', () => {
  it('stores the commitment with its block and emits Commitment', () => {
    const ctx = runtimeAt(chain, 5);
    setCommitment(ctx, alice, 1, info([raw('hello')]));
    const stored = ctx.state.get('commitments', 'commitmentOf', [1, alice])!.toJSON() as { block: number; deposit: number };
    expect(stored.block).toBe(5);
    expect(stored.deposit).toBe(0);
    expect(ctx.state.num('commitments', 'lastCommitment', [1, alice])).toBe(5);
    expect(ctx.events).toEqual(['Commitments.Commitment']);
    // "hello" → 04 (one field) 06 (Raw5) 68656c6c6f
    expect(ctx.state.raw('commitments', 'commitmentOf', [1, alice])!.slice(12)).toEqual(new Uint8Array([4, 6, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
  });

  it('charges max(100, bytes) of a 3100-byte budget per epoch, reset by the next epoch', () => {
    const ctx = runtimeAt(chain, 10); // epoch index floor((10 + 2) / 361) = 0
    for (let i = 0; i < 31; i++) setCommitment(ctx, alice, 1, info([raw(`c${i}`)]));
    expect(ctx.state.get('commitments', 'usedSpaceOf', [1, alice])!.toJSON()).toEqual({ lastEpoch: 0, usedSpace: 3100 });
    expect(dispatchErrorOf(() => setCommitment(ctx, alice, 1, info([raw('one more')])))).toBe('Commitments.SpaceLimitExceeded');
    ctx.block = 359; // (359 + 2) / 361 = 1: a new epoch
    setCommitment(ctx, alice, 1, info([raw('x'.repeat(128)), raw('y'.repeat(128))]));
    expect(ctx.state.get('commitments', 'usedSpaceOf', [1, alice])!.toJSON()).toEqual({ lastEpoch: 1, usedSpace: 256 });
  });

  it('refuses unregistered hotkeys and more than three fields', () => {
    const ctx = runtimeAt(chain, 5);
    expect(dispatchErrorOf(() => setCommitment(ctx, devAddress('Bob'), 1, info([raw('hi')])))).toBe('Commitments.AccountNotAllowedCommit');
    expect(dispatchErrorOf(() => setCommitment(ctx, alice, 2, info([raw('hi')])))).toBe('Commitments.AccountNotAllowedCommit');
    expect(dispatchErrorOf(() => setCommitment(ctx, alice, 1, info([raw('a'), raw('b'), raw('c'), raw('d')])))).toBe('Commitments.TooManyFieldsInCommitmentInfo');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyringPair } from '@polkadot/keyring/types';
import { blockNumber, dispatchErrorOf, freeBalance, query, queryBig, runtimeAt, send, startHarness, type Harness } from '../helpers.js';
import { DevnetChain, devAddress } from '../../../../src/chain/devnet/chain.js';
import { burnedRegister } from '../../../../src/chain/devnet/pallets/subtensor.js';

const NETUID = 1;
let h: Harness;
let alice: KeyringPair, bob: KeyringPair, charlie: KeyringPair, dave: KeyringPair;

beforeAll(async () => {
  h = await startHarness({ tempo: 10, weightsRateLimit: 5 });
  [alice, bob, charlie, dave] = ['//Alice', '//Bob', '//Charlie', '//Dave'].map((u) => h.keyring.addFromUri(u));
});
afterAll(async () => { await h?.close(); });

describe('burned_register', () => {
  it('appends a neuron, burns the cost and emits NeuronRegistered', async () => {
    const before = await freeBalance(h.api, bob.address);
    const burn = await queryBig(h.api, 'subtensorModule', 'burn', NETUID);
    const out = await send(h.api, h.api.tx.subtensorModule.burnedRegister(NETUID, bob.address), bob);
    expect(out.error).toBeUndefined();
    expect(out.events).toContain('subtensorModule.NeuronRegistered');
    expect(await query(h.api, 'subtensorModule', 'subnetworkN', NETUID)).toBe(2);
    expect(await query(h.api, 'subtensorModule', 'uids', NETUID, bob.address)).toBe(1);
    expect(await query(h.api, 'subtensorModule', 'keys', NETUID, 1)).toBe(bob.address);
    expect(await query(h.api, 'subtensorModule', 'owner', bob.address)).toBe(bob.address);
    expect(await freeBalance(h.api, bob.address)).toBe(before - burn);
    expect(await query(h.api, 'subtensorModule', 'blockAtRegistration', NETUID, 1)).toBe(await blockNumber(h.api, out.blockHash));
    expect(await query(h.api, 'subtensorModule', 'active', NETUID)).toEqual([true, true]);
  });

  it('refuses a hotkey registered twice and a hotkey owned by another coldkey', async () => {
    expect((await send(h.api, h.api.tx.subtensorModule.burnedRegister(NETUID, bob.address), bob)).error)
      .toBe('subtensorModule.HotKeyAlreadyRegisteredInSubNet');
    // Bob's hotkey belongs to Bob's coldkey; Charlie cannot register it on another subnet or here.
    expect((await send(h.api, h.api.tx.subtensorModule.burnedRegister(NETUID, bob.address), charlie)).error)
      .toBe('subtensorModule.HotKeyAlreadyRegisteredInSubNet');
  });
});

describe('set_weights', () => {
  it('refuses a neuron without a validator permit, then accepts it after an epoch gives one', async () => {
    await send(h.api, h.api.tx.subtensorModule.burnedRegister(NETUID, charlie.address), charlie);
    await send(h.api, h.api.tx.subtensorModule.addStake(bob.address, NETUID, 1_000_000_000_000n), bob);
    expect(await queryBig(h.api, 'subtensorModule', 'totalHotkeyAlpha', bob.address, NETUID)).toBe(1_000_000_000_000n);
    // Registration sets LastUpdate, so a new neuron waits out the rate limit (checked before the permit).
    const eve = h.keyring.addFromUri('//Eve');
    await send(h.api, h.api.tx.subtensorModule.burnedRegister(NETUID, eve.address), eve);
    const early = await send(h.api, h.api.tx.subtensorModule.setWeights(NETUID, [2], [1], 0), eve);
    expect(early.error).toBe('subtensorModule.SettingWeightsTooFast');
    await h.devnet.produceBlocks(12); // past the rate limit (5) and through an epoch (tempo 10)
    const permits = await query(h.api, 'subtensorModule', 'validatorPermit', NETUID);
    expect(permits[1]).toBe(true);
    const ok = await send(h.api, h.api.tx.subtensorModule.setWeights(NETUID, [2], [1], 0), bob);
    expect(ok.error).toBeUndefined();
    expect(ok.events).toContain('subtensorModule.WeightsSet');
    expect(await query(h.api, 'subtensorModule', 'weights', NETUID, 1)).toEqual([[2, 65535]]);
    const lastUpdate = await query(h.api, 'subtensorModule', 'lastUpdate', NETUID);
    expect(lastUpdate[1]).toBe(await blockNumber(h.api, ok.blockHash));
    expect((await send(h.api, h.api.tx.subtensorModule.setWeights(NETUID, [2], [1], 0), bob)).error).toBe('subtensorModule.SettingWeightsTooFast');
  });

  it('runs the checks in order with their error names', async () => {
    await h.devnet.produceBlocks(6);
    const tx = (dests: number[], weights: number[], netuid = NETUID) => h.api.tx.subtensorModule.setWeights(netuid, dests, weights, 0);
    // As on the chain, the commit-reveal switch is read first; it defaults to on for unknown netuids
    // (root included), so CanNotSetRootNetworkWeights / MechanismDoesNotExist surface only on reveal.
    expect((await send(h.api, tx([2], [1], 0), bob)).error).toBe('subtensorModule.CommitRevealEnabled');
    expect((await send(h.api, tx([2, 1], [1]), bob)).error).toBe('subtensorModule.WeightVecNotEqualSize');
    expect((await send(h.api, tx([0, 1, 2, 3, 0], [1, 1, 1, 1, 1]), bob)).error).toBe('subtensorModule.UidsLengthExceedUidsInSubNet');
    expect((await send(h.api, tx([2], [1]), dave)).error).toBe('subtensorModule.HotKeyNotRegisteredInSubNet');
    expect((await send(h.api, tx([0], [1]), charlie)).error).toBe('subtensorModule.NeuronNoValidatorPermit');
    expect((await send(h.api, tx([2, 2], [1, 1]), bob)).error).toBe('subtensorModule.DuplicateUids');
    expect((await send(h.api, tx([7], [1]), bob)).error).toBe('subtensorModule.UidVecContainInvalidOne');
    // Self-weight is allowed without a permit (the "burn" weight).
    expect((await send(h.api, tx([2], [5]), charlie)).error).toBeUndefined();
  });

  it('max-upscales the values (round half away from zero)', async () => {
    const out = await send(h.api, h.api.tx.subtensorModule.setWeights(NETUID, [0, 2], [1, 2], 0), bob);
    expect(out.error).toBeUndefined();
    expect(await query(h.api, 'subtensorModule', 'weights', NETUID, 1)).toEqual([[0, 32768], [2, 65535]]);
  });

  it('refuses set_weights while commit-reveal is enabled', async () => {
    const cr = await startHarness({ commitReveal: true });
    try {
      const owner = cr.keyring.addFromUri('//Alice');
      expect((await send(cr.api, cr.api.tx.subtensorModule.setWeights(NETUID, [0], [1], 0), owner)).error).toBe('subtensorModule.CommitRevealEnabled');
    } finally {
      await cr.close();
    }
  });
});

describe('burned_register in a full subnet', () => {
  it('replaces the prune candidate once immunity is over, and refuses while everyone is immune', async () => {
    const chain = new DevnetChain(undefined, { maxAllowedUids: 3, immunityPeriod: 10 });
    try {
      const [bob, charlie, dave, eve] = ['Bob', 'Charlie', 'Dave', 'Eve'].map(devAddress);
      const ctx = runtimeAt(chain, 1);
      burnedRegister(ctx, bob!, 1, bob!); // uid 1 at block 1
      ctx.block = 2;
      burnedRegister(ctx, charlie!, 1, charlie!); // uid 2 at block 2: the subnet is full
      ctx.block = 5;
      expect(dispatchErrorOf(() => burnedRegister(ctx, dave!, 1, dave!))).toBe('SubtensorModule.NoNeuronIdAvailable');
      ctx.block = 12; // Bob (registered at 1) is out of immunity, Charlie (2) not yet; the owner is never pruned
      burnedRegister(ctx, dave!, 1, dave!);
      const s = ctx.state;
      expect(s.num('subtensorModule', 'subnetworkN', [1])).toBe(3);
      expect(s.get('subtensorModule', 'keys', [1, 1])!.toString()).toBe(dave);
      expect(s.get('subtensorModule', 'uids', [1, bob!])).toBeUndefined();
      expect(s.num('subtensorModule', 'blockAtRegistration', [1, 1])).toBe(12);
      ctx.block = 13;
      burnedRegister(ctx, eve!, 1, eve!); // now Charlie is the only candidate
      expect(s.get('subtensorModule', 'keys', [1, 2])!.toString()).toBe(eve);
    } finally {
      chain.close();
    }
  });
});

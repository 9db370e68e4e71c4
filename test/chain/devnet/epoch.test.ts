/**
 * An epoch end to end on a running devnet: a validator with stake weights a miner, the epoch at
 * its scheduled block writes Yuma's results to storage and pays the simplified emission.
 * tempo 10, netuid 1: epochs run at blocks b with (b + 2) % 11 == 0, i.e. 9, 20, 31…
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEpochBlock, ALPHA_PER_BLOCK } from '../../../src/chain/devnet/epoch.js';
import { query, queryBig, send, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => { h = await startHarness({ tempo: 10, weightsRateLimit: 0 }); });
afterAll(async () => { await h?.close(); });

async function produceUntil(block: number): Promise<void> {
  await h.devnet.produceBlocks(block - h.devnet.bestNumber());
  expect(h.devnet.bestNumber()).toBe(block);
}

describe('epoch', () => {
  it('follows the legacy schedule', () => {
    expect([...Array(40).keys()].filter((b) => isEpochBlock(b, 1, 10))).toEqual([9, 20, 31]);
  });

  it('writes Incentive, Dividends, Consensus, ValidatorTrust, Bonds, Emission and pays them as stake', async () => {
    const [alice, bob, charlie] = ['//Alice', '//Bob', '//Charlie'].map((u) => h.keyring.addFromUri(u));
    await send(h.api, h.api.tx.subtensorModule!.burnedRegister!(1, bob!.address), bob!); // block 1, uid 1
    await send(h.api, h.api.tx.subtensorModule!.burnedRegister!(1, charlie!.address), charlie!); // block 2, uid 2
    await send(h.api, h.api.tx.subtensorModule!.addStake!(bob!.address, 1, 1_000_000_000_000n), bob!); // block 3
    await produceUntil(9); // first epoch: permits by stake (Bob), owner cut of 9 blocks to Alice
    expect(await query(h.api, 'subtensorModule', 'validatorPermit', 1)).toEqual([true, true, false]);
    const cut9 = (9n * ALPHA_PER_BLOCK * 11796n) / 65535n;
    expect(await queryBig(h.api, 'subtensorModule', 'totalHotkeyAlpha', alice!.address, 1)).toBe(cut9);

    const set = await send(h.api, h.api.tx.subtensorModule!.setWeights!(1, [2], [1], 0), bob!); // block 10
    expect(set.error).toBeUndefined();
    await produceUntil(20);

    // Alice (owner, no weights) and Bob both hold active stake; Bob's weight on Charlie is consensus.
    expect(await query(h.api, 'subtensorModule', 'incentive', 1)).toEqual([0, 0, 65535]);
    expect(await query(h.api, 'subtensorModule', 'consensus', 1)).toEqual([0, 0, 65535]);
    expect(await query(h.api, 'subtensorModule', 'dividends', 1)).toEqual([0, 65535, 0]);
    expect(await query(h.api, 'subtensorModule', 'validatorTrust', 1)).toEqual([0, 65535, 0]);
    expect(await query(h.api, 'subtensorModule', 'active', 1)).toEqual([true, true, true]);
    expect(await query(h.api, 'subtensorModule', 'bonds', 1, 1)).toEqual([[2, 6553]]);
    expect(await query(h.api, 'subtensorModule', 'lastMechansimStepBlock', 1)).toBe(20);
    expect(await query(h.api, 'subtensorModule', 'blocksSinceLastStep', 1)).toBe(0);

    // 11 blocks of alpha since the last epoch; 18% to the owner, the rest half to Charlie, half to Bob.
    const E = 11n * ALPHA_PER_BLOCK;
    const rest = E - (E * 11796n) / 65535n;
    const half = BigInt(Math.floor(Number(rest) / 2));
    const emission = (await query(h.api, 'subtensorModule', 'emission', 1)) as number[];
    expect(emission.map(BigInt)).toEqual([0n, half, half]);
    expect(await queryBig(h.api, 'subtensorModule', 'totalHotkeyAlpha', charlie!.address, 1)).toBe(half);
    expect(await queryBig(h.api, 'subtensorModule', 'totalHotkeyAlpha', bob!.address, 1)).toBe(1_000_000_000_000n + half);
    const stakeWeight = (await query(h.api, 'subtensorModule', 'stakeWeight', 1)) as number[];
    expect(stakeWeight[1]).toBeGreaterThan(65000);
  });
});

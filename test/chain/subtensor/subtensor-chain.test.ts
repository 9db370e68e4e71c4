/**
 * SubtensorChain against a devnet node started here on loopback (blocks on demand: one per
 * submitted transaction, more with produceBlocks). The same client code talks to finney.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Codec } from '@polkadot/types/types';
import type { Header } from '@polkadot/types/interfaces';
import { startDevnet, type Devnet } from '../../../src/chain/devnet/index.js';
import { headerHash } from '../../../src/chain/subtensor/actions/getCurrentBlock.js';
import {
  ChainConnectionError, ChainDispatchError, ExpiredWeightCommitError, SettingWeightsTooFastError, SubnetNotFoundError, SubtensorChain, commitHash,
  keypairFromUri, legacyEpochSchedule, type WalletKeypair,
} from '../../../src/chain/index.js';

const NETUID = 1;
const RATE_LIMIT = 5;
const TEMPO = 10;

async function produceUntil(dev: Devnet, block: number): Promise<void> {
  if (dev.bestNumber() < block) await dev.produceBlocks(block - dev.bestNumber());
}

describe('SubtensorChain on a devnet', { timeout: 60_000 }, () => {
  let dev: Devnet;
  let chain: SubtensorChain;
  let alice: WalletKeypair; // subnet owner, uid 0
  let bob: WalletKeypair; // a coldkey
  let bobHot: WalletKeypair;
  let charlieHot: WalletKeypair;

  beforeAll(async () => {
    dev = await startDevnet({ port: 0, blockTimeMs: 0, tempo: TEMPO, weightsRateLimit: RATE_LIMIT });
    chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 20_000 });
    alice = await keypairFromUri('//Alice');
    bob = await keypairFromUri('//Bob');
    bobHot = await keypairFromUri('//Bob//hot');
    charlieHot = await keypairFromUri('//Charlie//hot');
  }, 60_000);
  afterAll(async () => {
    await chain?.close();
    await dev?.close();
  }, 60_000);

  it('reads the subnet: tempo, owner, schedule, weight rules', async () => {
    const info = await chain.subnetInfo({ netuid: NETUID });
    expect(info).toMatchObject({
      netuid: NETUID, tempo: TEMPO, weightsRateLimit: RATE_LIMIT, weightsVersionKey: 0, commitRevealEnabled: false,
      ownerHotkey: alice.address, minAllowedWeights: 1, maxWeightLimit: 1,
    });
    // legacy schedule: epochs where (b + netuid + 1) % (tempo + 1) == 0
    expect((info.nextEpochBlock + NETUID + 1) % (TEMPO + 1)).toBe(0);
    expect(info.nextEpochBlock).toBeGreaterThan(info.block.number);
    expect(info.nextEpochBlock - info.block.number).toBeLessThanOrEqual(TEMPO + 1);
    expect(legacyEpochSchedule(20, 1, 10)).toEqual({ lastEpochBlock: 20, nextEpochBlock: 31 });
    expect(legacyEpochSchedule(25, 1, 10)).toEqual({ lastEpochBlock: 20, nextEpochBlock: 31 });
    await expect(chain.subnetInfo({ netuid: 7 })).rejects.toBeInstanceOf(SubnetNotFoundError);
  });

  it('registers a hotkey, commits, and reads the commitment back with its block', async () => {
    const reg = await chain.burnedRegister({ netuid: NETUID, hotkey: bobHot.address, signer: bob });
    expect(reg.uid).toBe(1);
    expect(await chain.uidOf({ netuid: NETUID, hotkey: bobHot.address })).toBe(1);
    expect(await chain.uidOf({ netuid: NETUID, hotkey: charlieHot.address })).toBeUndefined();

    const first = await chain.setCommitment({ netuid: NETUID, data: 'bob/ds:1:4f2c', signer: bobHot });
    let c = await chain.getCommitment({ netuid: NETUID, hotkey: bobHot.address });
    expect(c).toMatchObject({ netuid: NETUID, hotkey: bobHot.address, block: first.blockNumber, data: 'bob/ds:1:4f2c' });

    await dev.produceBlocks(2);
    const second = await chain.setCommitment({ netuid: NETUID, data: 'bob/ds:1:ünïcode', signer: bobHot });
    expect(second.blockNumber).toBeGreaterThan(first.blockNumber);
    c = await chain.getCommitment({ netuid: NETUID, hotkey: bobHot.address });
    expect(c).toMatchObject({ block: second.blockNumber, data: 'bob/ds:1:ünïcode' });

    const owner = await chain.setCommitment({ netuid: NETUID, data: '{"c":"1"}', signer: alice });
    const all = await chain.getAllCommitments({ netuid: NETUID });
    expect(all.map((x) => [x.hotkey, x.block, x.data])).toEqual([
      [bobHot.address, second.blockNumber, 'bob/ds:1:ünïcode'],
      [alice.address, owner.blockNumber, '{"c":"1"}'],
    ]);
    expect(await chain.getCommitment({ netuid: NETUID, hotkey: charlieHot.address })).toBeUndefined();

    const refused = chain.setCommitment({ netuid: NETUID, data: 'nope', signer: charlieHot });
    await expect(refused).rejects.toBeInstanceOf(ChainDispatchError);
    await expect(refused).rejects.toThrow(/Commitments\.AccountNotAllowedCommit/);
    await expect(chain.setCommitment({ netuid: NETUID, data: 'x'.repeat(129), signer: bobHot })).rejects.toThrow(/at most 128/);

    const mg = await chain.metagraph({ netuid: NETUID });
    expect(mg.n).toBe(2);
    expect(mg.uids).toEqual([0, 1]);
    expect(mg.hotkeys).toEqual([alice.address, bobHot.address]);
    expect(mg.coldkeys).toEqual([alice.address, bob.address]);
    expect(mg.blockAtRegistration[1]).toBe(reg.blockNumber);
    expect(mg.lastUpdate[1]).toBe(reg.blockNumber);
    expect(mg.active).toEqual([true, true]);

    // two transactions of one key at once (a validator's weights and its results pointer) both land
    await dev.produceBlocks(1);
    const [a, b] = await Promise.all([
      chain.setCommitment({ netuid: NETUID, data: 'bob/ds:1:first', signer: bobHot }),
      chain.setCommitment({ netuid: NETUID, data: 'bob/ds:1:second', signer: bobHot }),
    ]);
    expect(b.blockNumber).toBeGreaterThanOrEqual(a.blockNumber);
    expect((await chain.getCommitment({ netuid: NETUID, hotkey: bobHot.address }))?.data).toBe('bob/ds:1:second');
  });

  it('sets weights, refuses them inside the rate limit with a clear error, and checks the version key', async () => {
    const w = await chain.setWeights({ netuid: NETUID, uids: [0, 1], weights: [0.25, 0.75], versionKey: 0, signer: alice });
    expect(w.uids).toEqual([0, 1]);
    expect(w.weights).toEqual([21845, 65535]);
    const stored = await chain.client.api.query['subtensorModule']!['weights']!(NETUID, 0) as unknown as Codec;
    expect(stored.toJSON()).toEqual([[0, 21845], [1, 65535]]);

    // locally, before submitting
    const local = chain.setWeights({ netuid: NETUID, uids: [1], weights: [1], versionKey: 0, signer: alice });
    await expect(local).rejects.toBeInstanceOf(SettingWeightsTooFastError);
    await expect(local).rejects.toThrow(new RegExp(`^weights were set \\d blocks ago; the subnet allows every ${RATE_LIMIT}$`));
    // and the chain's own refusal, turned into the same message
    const remote = chain.setWeights({ netuid: NETUID, uids: [1], weights: [1], versionKey: 0, signer: alice, checkRateLimit: false });
    await expect(remote).rejects.toThrow(new RegExp(`^weights were set \\d blocks ago; the subnet allows every ${RATE_LIMIT}$`));

    await dev.produceBlocks(RATE_LIMIT);
    const again = await chain.setWeights({ netuid: NETUID, uids: [1], weights: [1], versionKey: 0, signer: alice });
    expect(again.blockNumber).toBeGreaterThan(w.blockNumber);
    const mg = await chain.metagraph({ netuid: NETUID });
    expect(mg.lastUpdate[0]).toBe(again.blockNumber);

    // the version key goes on chain as given
    await dev.produceBlocks(RATE_LIMIT);
    const keyed = await chain.setWeights({ netuid: NETUID, uids: [0, 1], weights: [1, 1], versionKey: 1234, signer: alice });
    const block = await chain.client.api.rpc.chain.getBlock(keyed.blockHash);
    const call = block.block.extrinsics.map((x) => x.method).find((m) => m.section === 'subtensorModule' && m.method === 'setWeights');
    expect(call?.toJSON()).toMatchObject({ args: { netuid: NETUID, dests: [0, 1], weights: [65535, 65535], version_key: 1234 } });
  });

  it('needs a validator permit, which stake and an epoch give', async () => {
    const versionKey = 0;
    await dev.produceBlocks(RATE_LIMIT);
    const noPermit = chain.setWeights({ netuid: NETUID, uids: [0], weights: [1], versionKey, signer: bobHot });
    await expect(noPermit).rejects.toThrow(/SubtensorModule\.NeuronNoValidatorPermit/);
    await expect(noPermit).rejects.toMatchObject({ hint: expect.stringContaining('validator permit') });

    await chain.addStake({ netuid: NETUID, hotkey: bobHot.address, amount: 1000, signer: bob });
    await produceUntil(dev, (await chain.subnetInfo({ netuid: NETUID })).nextEpochBlock);
    const mg = await chain.metagraph({ netuid: NETUID });
    expect(mg.validatorPermit[1]).toBe(true);
    expect(mg.alphaStake[1]).toBeGreaterThanOrEqual(1000);
    expect(mg.stake[1]).toBeGreaterThanOrEqual(1000);

    const set = await chain.setWeights({ netuid: NETUID, uids: [0, 1], weights: [0, 1], versionKey, signer: bobHot });
    expect(set.uids).toEqual([1]);
    await expect(chain.setWeights({ netuid: NETUID, uids: [0], weights: [1], versionKey, signer: charlieHot }))
      .rejects.toThrow(`hotkey ${charlieHot.address} is not registered on subnet ${NETUID}`);
  });

  it('reads the current block: its number and hash are the ones the node and the api give', async () => {
    await dev.produceBlocks(2);
    const block = await chain.currentBlock();
    const header = await chain.client.api.rpc.chain.getHeader();
    expect(block.number).toBe(header.number.toNumber());
    expect(block.hash).toBe(header.hash.toHex()); // the api's own hashing of the header
    expect(block.hash).toBe((await chain.client.api.rpc.chain.getBlockHash(block.number)).toHex()); // the node's

    // finney's headers carry digest items (Aura pre-runtime, seal): hashed as the api hashes them
    const withDigest = chain.client.api.registry.createType<Header>('Header', {
      parentHash: `0x${'11'.repeat(32)}`, number: 4_321_987, stateRoot: `0x${'22'.repeat(32)}`, extrinsicsRoot: `0x${'33'.repeat(32)}`,
      digest: { logs: [{ PreRuntime: ['0x61757261', '0x0a0b0c0d00000000'] }, { Seal: ['0x61757261', `0x${'44'.repeat(64)}`] }] },
    });
    expect(headerHash({
      parentHash: withDigest.parentHash.toHex(), number: `0x${(4_321_987).toString(16)}`, stateRoot: withDigest.stateRoot.toHex(),
      extrinsicsRoot: withDigest.extrinsicsRoot.toHex(), digest: { logs: withDigest.digest.logs.map((l) => l.toHex()) },
    })).toBe(withDigest.hash.toHex());
  });

  it('follows new blocks from the current one on, until told to stop', async () => {
    const seen: number[] = [];
    const start = (await chain.currentBlock()).number;
    const stop = await chain.watchBlocks({ onBlock: (n) => seen.push(n) });
    await dev.produceBlocks(3);
    const deadline = Date.now() + 10_000;
    while (seen[seen.length - 1] !== start + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([start, start + 1, start + 2, start + 3]);
    await stop();
    await dev.produceBlocks(1);
    await chain.currentBlock(); // a round trip after the block: a notification would have come first
    expect(seen).toHaveLength(4);
  });
});

describe('commit-reveal on a devnet', { timeout: 60_000 }, () => {
  it('commits the v2 hash and reveals it in the next epoch', async () => {
    const dev = await startDevnet({ port: 0, blockTimeMs: 0, tempo: TEMPO, weightsRateLimit: RATE_LIMIT, commitReveal: true });
    const chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 20_000 });
    try {
      const alice = await keypairFromUri('//Alice');
      const info = await chain.subnetInfo({ netuid: NETUID });
      expect(info.commitRevealEnabled).toBe(true);
      await expect(chain.setWeights({ netuid: NETUID, uids: [0], weights: [1], versionKey: 0, signer: alice }))
        .rejects.toMatchObject({ error: 'CommitRevealEnabled', hint: 'use commitWeights / revealWeights' });

      const salt = [1, 2, 3, 4, 5, 6, 7, 8];
      const pending = await chain.commitWeights({ netuid: NETUID, uids: [0], weights: [1], versionKey: 0, signer: alice, salt });
      expect(pending.commitHash).toBe(commitHash({ hotkey: alice.address, netuid: NETUID, uids: [0], values: [65535], salt, versionKey: 0 }));
      const commits = await chain.client.api.query['subtensorModule']!['weightCommits']!(NETUID, alice.address) as unknown as Codec;
      expect(JSON.stringify(commits.toJSON())).toContain(pending.commitHash);

      await expect(chain.revealWeights({ pending, signer: alice })).rejects.toThrow(/RevealTooEarly/);
      const next = (await chain.subnetInfo({ netuid: NETUID })).nextEpochBlock;
      await produceUntil(dev, next + 1);
      const bad = chain.revealWeights({ pending: { ...pending, salt: [9, 9, 9, 9, 9, 9, 9, 9] }, signer: alice });
      await expect(bad).rejects.toThrow(/InvalidRevealCommitHashNotMatch/);
      const revealed = await chain.revealWeights({ pending, signer: alice });
      expect(revealed.blockNumber).toBeGreaterThan(next);
      const stored = await chain.client.api.query['subtensorModule']!['weights']!(NETUID, 0) as unknown as Codec;
      expect(stored.toJSON()).toEqual([[0, 65535]]);

      // a commit left unrevealed past its reveal epoch expires: its own error class, for callers to act on
      await produceUntil(dev, dev.bestNumber() + RATE_LIMIT + 1);
      const late = await chain.commitWeights({ netuid: NETUID, uids: [0], weights: [1], versionKey: 0, signer: alice, salt: [8, 7, 6, 5, 4, 3, 2, 1] });
      await produceUntil(dev, dev.bestNumber() + (info.revealPeriodEpochs + 2) * (TEMPO + 1));
      const expired = chain.revealWeights({ pending: late, signer: alice });
      await expect(expired).rejects.toBeInstanceOf(ExpiredWeightCommitError);
      await expect(expired).rejects.toThrow(/SubtensorModule\.ExpiredWeightCommit/);
    } finally {
      await chain.close();
      await dev.close();
    }
  });
});

describe('a node that goes away', () => {
  it('gives a clear error, then reconnects when the node is back with its state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flock-devnet-'));
    let dev = await startDevnet({ port: 0, dir, blockTimeMs: 0, tempo: TEMPO });
    const port = dev.port;
    const chain = await SubtensorChain.connect({ endpoint: dev.url, connectTimeoutMs: 1500, retryDelayMs: 200, txTimeoutMs: 20_000 });
    try {
      const alice = await keypairFromUri('//Alice');
      const c = await chain.setCommitment({ netuid: NETUID, data: 'before restart', signer: alice });
      await dev.close();
      const down = chain.currentBlock();
      await expect(down).rejects.toBeInstanceOf(ChainConnectionError);
      await expect(down).rejects.toThrow(`cannot reach the chain at ws://127.0.0.1:${port}`);

      dev = await startDevnet({ port, dir, blockTimeMs: 0, tempo: TEMPO });
      const deadline = Date.now() + 45_000;
      let block: { number: number } | undefined;
      while (!block && Date.now() < deadline) {
        block = await chain.currentBlock().catch(() => undefined);
      }
      expect(block?.number).toBe(c.blockNumber);
      expect(await chain.getCommitment({ netuid: NETUID, hotkey: alice.address })).toMatchObject({ data: 'before restart', block: c.blockNumber });
      const after = await chain.setCommitment({ netuid: NETUID, data: 'after restart', signer: alice });
      expect(after.blockNumber).toBe(c.blockNumber + 1);
    } finally {
      await chain.close();
      await dev.close();
    }
  }, 120_000);

  it('names the endpoint when there is no node at all', async () => {
    await expect(SubtensorChain.connect({ endpoint: 'ws://127.0.0.1:1', connectTimeoutMs: 1000 }))
      .rejects.toThrow(/^cannot reach the chain at ws:\/\/127\.0\.0\.1:1: /);
  });
});

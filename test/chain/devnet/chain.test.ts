/** The chain's persistence: blocks and state survive a restart; genesis settings are kept. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { DevnetChain, devAddress } from '../../../src/chain/devnet/chain.js';
import { send, startHarness, query } from './helpers.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'flock-devnet-'));
  dirs.push(d);
  return d;
}

describe('DevnetChain', () => {
  it('keeps blocks, state and nonces across a restart', async () => {
    const dir = tempDir();
    const first = await startHarness({ dir, tempo: 7 });
    const bob = first.keyring.addFromUri('//Bob');
    const out = await send(first.api, first.api.tx.subtensorModule!.burnedRegister!(1, bob.address), bob);
    expect(out.error).toBeUndefined();
    await first.devnet.produceBlocks(3);
    const best = first.devnet.bestNumber();
    const bestHash = first.devnet.chain.bestHash();
    const genesis = first.devnet.chain.genesisHash;
    await first.close();

    // Asking for another tempo on an existing chain keeps the stored genesis.
    const second = await startHarness({ dir, tempo: 99 });
    try {
      expect(second.devnet.bestNumber()).toBe(best);
      expect(second.devnet.chain.bestHash()).toBe(bestHash);
      expect(second.devnet.chain.genesisHash).toBe(genesis);
      expect(await query(second.api, 'subtensorModule', 'tempo', 1)).toBe(7);
      expect(await query(second.api, 'subtensorModule', 'uids', 1, bob.address)).toBe(1);
      expect((await second.api.rpc.system.accountNextIndex(bob.address)).toNumber()).toBe(1);
      // and it goes on producing from there
      const again = await send(second.api, second.api.tx.system!.remark!('0x00'), bob);
      expect(again.error).toBeUndefined();
      expect(second.devnet.bestNumber()).toBe(best + 1);
    } finally {
      await second.close();
    }
  });

  it('funds the dev accounts and makes //Alice the subnet owner at genesis', async () => {
    await cryptoWaitReady();
    const chain = new DevnetChain(undefined, { netuid: 3, tempo: 5 });
    try {
      const s = chain.state();
      const alice = devAddress('Alice');
      expect(s.get('subtensorModule', 'subnetOwner', [3])!.toString()).toBe(alice);
      expect(s.get('subtensorModule', 'keys', [3, 0])!.toString()).toBe(alice);
      expect(s.num('subtensorModule', 'subnetworkN', [3])).toBe(1);
      expect(s.bool('subtensorModule', 'commitRevealWeightsEnabled', [3])).toBe(false);
      expect(s.bool('subtensorModule', 'networksAdded', [1])).toBe(false);
      for (const name of ['Alice', 'Ferdie']) {
        const acc = s.get('system', 'account', [devAddress(name)])!.toJSON() as { data: { free: number } };
        expect(BigInt(acc.data.free)).toBe(1_000_000_000_000_000n);
      }
      // Blocks on demand: each carries the timestamp inherent and is stored whole.
      const b = chain.produceBlock();
      expect(b.number).toBe(1);
      expect(chain.block(1)!.extrinsics).toHaveLength(1);
      expect(chain.header(b.hash)!.parentHash.toHex()).toBe(chain.genesisHash);
    } finally {
      chain.close();
    }
  });
});

describe('startDevnet', () => {
  it('explains a port that is already taken', async () => {
    const { startDevnet } = await import('../../../src/chain/devnet/index.js');
    const first = await startDevnet({ port: 0, blockTimeMs: 0 });
    try {
      await expect(startDevnet({ port: first.port, blockTimeMs: 0 })).rejects.toThrow(`port ${first.port} on 127.0.0.1 is already in use`);
    } finally {
      await first.close();
    }
  });
});

/** BlockFollower: the best block from the new-heads subscription, read from the node when no notification is fresh. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../src/chain/devnet/index.js';
import { SubtensorChain } from '../../src/chain/index.js';
import { BlockFollower } from '../../src/validator/blocks.js';

let dev: Devnet;
let chain: SubtensorChain;
let reads = 0;

beforeAll(async () => {
  dev = await startDevnet({ port: 0, blockTimeMs: 0 });
  chain = await SubtensorChain.connect({ endpoint: dev.url });
  const read = chain.currentBlock.bind(chain);
  chain.currentBlock = () => {
    reads++;
    return read();
  };
});
afterAll(async () => {
  await chain?.close();
  await dev?.close();
});

async function until(f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await f()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('BlockFollower', () => {
  it('answers from the subscription, without asking the node, while notifications are fresh', async () => {
    const blocks = new BlockFollower(chain, 12);
    try {
      const before = reads;
      const first = await blocks.current();
      expect(first).toBe((await chain.currentBlock()).number);
      await dev.produceBlocks(2);
      await until(async () => (await blocks.current()) === first + 2);
      expect(await blocks.current()).toBe(first + 2);
      expect(reads).toBe(before + 1); // only the check above
    } finally {
      await blocks.close();
    }
  });

  it('reads from the node when no notification came within 1.5 block times', async () => {
    const blocks = new BlockFollower(chain, 0.02); // 30 ms
    try {
      await blocks.current();
      await new Promise((r) => setTimeout(r, 60));
      const before = reads;
      const n = await blocks.current();
      expect(reads).toBe(before + 1);
      expect(n).toBe((await chain.currentBlock()).number);
    } finally {
      await blocks.close();
    }
  });
});

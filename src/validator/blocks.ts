/**
 * The chain's best block as the validator loop needs it after every evaluation: taken from a
 * new-heads subscription, so asking costs nothing, and read from the node instead whenever no
 * notification came for longer than 1.5 block times — the subscription may have died, or (on a
 * devnet that makes blocks on demand) there is simply no new block; a read is right either way.
 */
import type { Chain } from '../chain/chain.js';

export class BlockFollower {
  private latest: { number: number; at: number } | null = null;
  private stop: (() => Promise<void>) | null = null;
  private starting: Promise<void> | null = null;
  /** Bumped by `close`: a subscription that lands after it is ended at once. */
  private generation = 0;

  /** `blockSeconds`: the chain's block time (finney: 12). */
  constructor(private readonly chain: Chain, private readonly blockSeconds: number) {}

  /** The best block number (subscribing on first use). */
  async current(): Promise<number> {
    this.starting ??= this.subscribe();
    await this.starting;
    const latest = this.latest;
    if (latest && performance.now() - latest.at < 1500 * this.blockSeconds) return latest.number;
    return (await this.chain.currentBlock()).number;
  }

  /** End the subscription (the next `current` subscribes again). */
  async close(): Promise<void> {
    const stop = this.stop;
    this.generation++;
    this.stop = null;
    this.starting = null;
    this.latest = null;
    await stop?.();
  }

  private async subscribe(): Promise<void> {
    const generation = this.generation;
    try {
      const stop = await this.chain.watchBlocks({ onBlock: (number) => {
        if (generation !== this.generation) return;
        if (!this.latest || number >= this.latest.number) this.latest = { number, at: performance.now() };
      } });
      if (generation !== this.generation) await stop(); // closed while subscribing
      else this.stop = stop;
    } catch {
      if (generation === this.generation) this.starting = null; // no subscription: `current` reads from the node, and tries again next time
    }
  }
}

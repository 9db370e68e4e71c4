/**
 * The chain's best block as the validator loop needs it after every evaluation: taken from a
 * new-heads subscription, so asking costs nothing, and read from the node instead whenever no
 * notification came for longer than 1.5 block times — the subscription may have died, or (on a
 * devnet that makes blocks on demand) there is simply no new block; a read is right either way.
 * While the node is unreachable the block is estimated from the last one seen and the block time,
 * so work that needs no chain (training) goes on instead of waiting for it.
 */
import type { Chain } from '../chain/chain.js';
import { isChainUnavailable } from '../chain/index.js';

export class BlockFollower {
  private latest: { number: number; at: number } | null = null;
  /** The last block known, from a notification or a read: what an estimate starts from. */
  private known: { number: number; at: number } | null = null;
  private stop: (() => Promise<void>) | null = null;
  private starting: Promise<void> | null = null;
  /** Bumped by `close`: a subscription that lands after it is ended at once. */
  private generation = 0;

  /** `blockSeconds`: the chain's block time (finney: 12). */
  constructor(private readonly chain: Chain, private readonly blockSeconds: number) {}

  /**
   * The best block number (subscribing on first use); an estimate while the node is away (or a
   * ChainConnectionError when no block was ever seen).
   */
  async current(): Promise<number> {
    if (!this.chain.connected && this.known) return this.estimate(this.known);
    this.starting ??= this.subscribe();
    await this.starting;
    const latest = this.latest;
    if (latest && performance.now() - latest.at < 1500 * this.blockSeconds) return latest.number;
    try {
      const number = (await this.chain.currentBlock()).number;
      this.known = { number, at: performance.now() };
      return number;
    } catch (err) {
      if (isChainUnavailable(err) && this.known) return this.estimate(this.known);
      throw err;
    }
  }

  private estimate(from: { number: number; at: number }): number {
    return from.number + Math.floor((performance.now() - from.at) / (1000 * this.blockSeconds));
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
        if (!this.latest || number >= this.latest.number) this.latest = this.known = { number, at: performance.now() };
      } });
      if (generation !== this.generation) await stop(); // closed while subscribing
      else this.stop = stop;
    } catch {
      if (generation === this.generation) this.starting = null; // no subscription: `current` reads from the node, and tries again next time
    }
  }
}

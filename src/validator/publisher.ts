/**
 * Publishing a validator's round results: sign the document with the hotkey, commit it as
 * `results.json` to the validator's hub dataset repo (each round a new commit: the history is the
 * repo's), and point to the repo from the hotkey's chain commitment. It runs beside validation:
 * a failure (hub or chain away, no write access) is logged and retried with backoff, a newer round
 * replaces one still waiting, and nothing here ever stops the validator.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Chain } from '../chain/chain.js';
import { signResults } from '../chain/results-signature.js';
import type { HubClient } from '../hub/index.js';
import { formatResultsPointer, formatSignedResults, RESULTS_FILE, type ResultsDocument } from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface ResultsPublisherOptions {
  hub: HubClient;
  chain: Chain;
  netuid: number;
  /** The validator's hotkey pair (signs the document and the commitment). */
  pair: KeyringPair;
  /** The results repo (`owner/name`, a dataset repo the hub token may write). */
  repoId: string;
  log: Logger;
  /** First retry after a failure, doubling up to `maxBackoffMs` (default 5 s, 5 min). */
  retryBaseMs?: number;
  maxBackoffMs?: number;
}

/** What the last publication did. */
export interface Publication {
  round: number;
  block: number;
  /** The results repo's commit holding it. */
  revision: string;
}

/**
 * The default results repo: `<hub user>/flock-results-<netuid>-<first 8 characters of the hotkey>`,
 * so one hub account can publish for several validators.
 */
export function defaultResultsRepo(hubUser: string, netuid: number, hotkey: string): string {
  return `${hubUser}/flock-results-${netuid}-${hotkey.slice(0, 8)}`;
}

export class ResultsPublisher {
  private pending: ResultsDocument | null = null;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;
  private repoReady = false;
  private pointerSet = false;
  private closed = false;
  /** The last round published (null: none yet in this process). */
  last: Publication | null = null;
  /** Publications done and failed attempts so far (for metrics and tests). */
  readonly counts = { published: 0, failed: 0 };

  constructor(private readonly o: ResultsPublisherOptions) {}

  get repoId(): string {
    return this.o.repoId;
  }

  /** Publish `document` in the background (a newer one replaces one still waiting). Never throws. */
  submit(document: ResultsDocument): void {
    if (this.closed) return;
    this.pending = document;
    this.wake?.(); // a round waiting out a backoff goes now
    this.kick();
  }

  /**
   * Start draining unless a drain runs; a document submitted just as a drain ended (its loop done,
   * its promise not settled yet) starts the next one.
   */
  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.pending) this.kick();
    });
  }

  /** Resolves when nothing is waiting to be published (or the publisher is closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stop retrying; what is still waiting is not published. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      const doc = this.pending;
      try {
        const revision = await this.publish(doc);
        if (this.pending === doc) this.pending = null;
        this.failures = 0;
        this.counts.published++;
        this.last = { round: doc.round, block: doc.block, revision };
        this.o.log.info(`results of round ${doc.round} published`, { repo: this.o.repoId, revision: revision.slice(0, 12) });
      } catch (err) {
        this.failures++;
        this.counts.failed++;
        const wait = Math.min(this.o.maxBackoffMs ?? 300_000, (this.o.retryBaseMs ?? 5000) * 2 ** Math.min(this.failures - 1, 16));
        this.o.log.warning(`publishing the results of round ${doc.round} failed; retrying in ${(wait / 1000).toFixed(1)} s (validation goes on): ${errorMessage(err)}`, { repo: this.o.repoId });
        await this.sleep(wait);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.timer = setTimeout(done, ms);
    });
  }

  /** Sign, upload, and make sure the chain points to the repo; returns the commit. */
  private async publish(doc: ResultsDocument): Promise<string> {
    const { hub, chain, netuid, pair, repoId } = this.o;
    const signed = await signResults(doc, pair);
    if (!this.repoReady) {
      await hub.createRepo({ repo: repoId, type: 'dataset', existOk: true });
      this.repoReady = true;
    }
    const revision = await hub.uploadFiles({
      repo: repoId, type: 'dataset', files: [{ path: RESULTS_FILE, content: formatSignedResults(signed) }],
      message: `round ${doc.round}: competition ${doc.competition.id}@${doc.competition.revision.slice(0, 12)}, weights at block ${doc.block}`,
    });
    if (!this.pointerSet) {
      const { ownerHotkey } = await chain.subnetInfo({ netuid });
      if (ownerHotkey === pair.address) {
        // the owner's commitment is the competition pointer: never overwrite it
        this.o.log.warning('this hotkey is the subnet owner\'s: its commitment is the competition pointer, so the published results are not pointed to from the chain (validate with another hotkey to be found by readers)');
        this.pointerSet = true;
        return revision;
      }
      const pointer = formatResultsPointer({ repoId });
      const current = await chain.getCommitment({ netuid, hotkey: pair.address });
      if (current?.data !== pointer) {
        await chain.setCommitment({ netuid, data: pointer, signer: pair });
        this.o.log.info(`the hotkey's commitment now points to the results repo ${repoId}`);
      }
      this.pointerSet = true;
    }
    return revision;
  }
}

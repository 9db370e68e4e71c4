/**
 * A validator's earlier rounds: its results repo keeps every round as a commit, so the history is
 * the repo's commits (newest first, as many as asked for), each commit's `results.json` read and
 * verified as the latest one is (`readResultsAt`). A bad file is a reason for that revision alone;
 * a commit without the file (the repo's first commit) is no round; revisions the caller already
 * holds are not read again.
 */
import type { HubClient } from '../hub/index.js';
import type { SignedResults } from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import { readResultsAt } from './read.js';

/** Rounds read by default, and at most. */
export const HISTORY_DEFAULT_ROUNDS = 50;
export const HISTORY_MAX_ROUNDS = 1000;
/** Revisions read at once. */
const READ_CONCURRENCY = 4;

/**
 * One commit of a results repo as read: a `verified` round; a `refused` file (bad signature,
 * another signer, another subnet, not parsable, too large); `absent` (the commit holds no results
 * file); `unreadable` (the hub did not give the file: another try may succeed); or `known` (the
 * caller already holds it, so it was not read again).
 */
export type HistoryRevision = { revision: string; date: string; title: string } & (
  | { status: 'verified'; signed: SignedResults }
  | { status: 'refused' | 'absent' | 'unreadable'; reason: string }
  | { status: 'known' }
);

export interface ResultsHistory {
  hotkey: string;
  repoId: string;
  /** The commits read, newest first (at most `limit`). */
  revisions: HistoryRevision[];
  /** Why the commits could not be listed (then `revisions` is empty). */
  problem: string | null;
}

export interface HistoryOptions {
  hub: HubClient;
  /** The results repo the validator's commitment points to. */
  repoId: string;
  /** The validator: every file must be signed by it. */
  hotkey: string;
  netuid: number;
  /** Commits read, newest first (default 50, at most 1000). */
  limit?: number;
  /** Cap on a results file (default `RESULTS_MAX_BYTES`). */
  maxBytes?: number;
  /**
   * Whether the caller already holds a revision's results: a commit's file never changes, so such
   * a revision is listed as `known` and not downloaded again.
   */
  known?: (revision: string) => boolean;
}

/**
 * The last `limit` commits of a validator's results repo, each read and verified, newest first.
 *
 * @example
 * const h = await readResultsHistory({ hub, repoId: 'alice/flock-results', hotkey, netuid: 1, limit: 20 });
 * for (const r of h.revisions) if (r.status === 'verified') console.log(r.signed.document.round, r.signed.document.block);
 */
export async function readResultsHistory(o: HistoryOptions): Promise<ResultsHistory> {
  const limit = o.limit ?? HISTORY_DEFAULT_ROUNDS;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_MAX_ROUNDS) throw new RangeError(`limit must be an integer from 1 to ${HISTORY_MAX_ROUNDS}, got ${String(limit)}`);
  const base = { hotkey: o.hotkey, repoId: o.repoId };
  let commits;
  try {
    commits = await o.hub.listCommits({ repo: o.repoId, type: 'dataset', revision: 'main', limit });
  } catch (err) {
    return { ...base, revisions: [], problem: `the history of results repo ${o.repoId} cannot be listed: ${errorMessage(err)}` };
  }
  const revisions = new Array<HistoryRevision>(commits.length);
  let next = 0;
  const reader = async () => {
    while (next < commits.length) {
      const i = next++;
      const c = commits[i]!;
      const meta = { revision: c.sha, date: c.date, title: c.title };
      if (o.known?.(c.sha)) {
        revisions[i] = { ...meta, status: 'known' };
        continue;
      }
      const read = await readResultsAt({ hub: o.hub, repoId: o.repoId, revision: c.sha, hotkey: o.hotkey, netuid: o.netuid, maxBytes: o.maxBytes });
      revisions[i] = read.ok ? { ...meta, status: 'verified', signed: read.signed } : { ...meta, status: read.failure, reason: read.reason };
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, commits.length) }, reader));
  return { ...base, revisions, problem: null };
}

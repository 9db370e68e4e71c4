/**
 * What `flock validator status` shows, read from the state DB only: the competition followed, the
 * latest round's leaderboard (uid, hotkey, commitment, block, eval loss, win rate, weight, reason),
 * the evaluation queue and the last weight transactions.
 */
import { sealedRoundOfKey } from '../evaluation/competition.js';
import type { EvaluationStatus, LeaderboardRow, ValidatorStore, WeightTransactionRecord } from './store.js';
import { printable } from '../util/terminal-text.js';

export interface ValidatorStatus {
  /** The competition revision followed; `sealedRound`: the sealed round it scores (null: an open evaluation set). */
  competition: { id: string; revision: string; repo: string; sealedRound: number | null } | null;
  round: { id: number; block: number; burned: boolean; createdAt: string } | null;
  leaderboard: LeaderboardRow[];
  evaluations: Record<EvaluationStatus, number>;
  weightTransactions: Array<Pick<WeightTransactionRecord, 'window' | 'kind' | 'status' | 'block' | 'error'>>;
}

/** Gather the status from a (read-only) store. */
export function readStatus(store: ValidatorStore): ValidatorStatus {
  const c = store.latestCompetition();
  const r = store.latestRound();
  return {
    competition: c ? { id: c.id, revision: c.revision, repo: c.repo, sealedRound: sealedRoundOfKey(c.key) } : null,
    round: r ? { id: r.id, block: r.block, burned: r.burned, createdAt: new Date(r.createdAt).toISOString() } : null,
    leaderboard: store.leaderboard(),
    evaluations: c ? store.evaluationCounts(c.key) : { queued: 0, running: 0, done: 0, failed: 0 },
    weightTransactions: store.weightTransactions(10).map((t) => ({ window: t.window, kind: t.kind, status: t.status, block: t.block, error: t.error })),
  };
}

/**
 * The status as a readable table. Commitments and reasons are miners' text: their control
 * characters are shown escaped (`printable`), never sent to the terminal.
 */
export function formatLeaderboard(s: ValidatorStatus): string {
  const out: string[] = [];
  const sealed = s.competition?.sealedRound ? `, scoring sealed round ${s.competition.sealedRound}` : '';
  out.push(s.competition ? printable(`competition ${s.competition.id} (${s.competition.repo}@${s.competition.revision.slice(0, 12)}${sealed})`) : 'no competition followed yet');
  const e = s.evaluations;
  out.push(`evaluations: ${e.done} done, ${e.failed} failed, ${e.queued} queued, ${e.running} running`);
  const lastTx = s.weightTransactions[0];
  if (lastTx) out.push(`last weights: window ${lastTx.window} ${lastTx.kind} ${lastTx.status}${lastTx.block !== null ? ` at block ${lastTx.block}` : ''}`);
  if (!s.round) {
    out.push('no round scored yet');
    return `${out.join('\n')}\n`;
  }
  out.push(`round ${s.round.id} at block ${s.round.block}${s.round.burned ? ' (burned to the owner)' : ''}`, '');
  const header = ['uid', 'hotkey', 'commitment', 'block', 'eval loss', 'win rate', 'weight', 'reason'];
  const rows = s.leaderboard.map((u) => {
    const commitment = u.commitment === null ? null : printable(u.commitment);
    return [
      String(u.uid),
      `${u.hotkey.slice(0, 8)}…`,
      commitment === null ? '-' : commitment.length > 40 ? `${commitment.slice(0, 39)}…` : commitment,
      u.block === null ? '-' : String(u.block),
      u.evalLoss === undefined ? '-' : u.evalLoss.toFixed(5),
      u.winRate.toFixed(3),
      u.weight.toFixed(4),
      printable(u.reason ?? ''),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 7 ? 0 : r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.push(line(header), ...rows.map(line));
  return `${out.join('\n')}\n`;
}

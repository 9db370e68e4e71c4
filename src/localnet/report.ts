/** The local subnet's leaderboard as text (`flock localnet` without --json). */
import { KIND_DESCRIPTIONS, type DatasetKind } from './tasks.js';
import type { LocalnetReport } from './localnet.js';
import { printable } from '../util/terminal-text.js';

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The leaderboard (highest incentive first), the validators' agreement and the timings. */
export function formatLocalnetReport(r: LocalnetReport): string {
  const out: string[] = [];
  out.push(`local subnet: netuid ${r.netuid}, ${r.rounds} sealed round(s), block ${r.block}${r.quick ? ' (quick)' : ''}`);
  out.push(`competition ${r.competition.id}: ${r.competition.repo}@${r.competition.revision.slice(0, 12)}; base model eval loss ${r.baseLoss?.toFixed(5) ?? '-'} (last round's set)`, '');
  if (r.sealedRounds.length > 0) {
    out.push('sealed rounds (each set committed by its SHA-256 when the round opened, revealed after its window):');
    out.push(...table(
      ['round', 'window (blocks)', 'set sha256', 'revealed at block', 'uids taking part'],
      r.sealedRounds.map((s) => [String(s.round), `${s.opens}–${s.closes - 1}`, `${s.evalSha256.slice(0, 16)}…`, s.revealBlock === null ? '-' : String(s.revealBlock), s.participants.join(' ')]),
    ), '');
  }
  const miners = [...r.miners].sort((a, b) => b.incentive - a.incentive || a.uid - b.uid);
  const vHeads = r.validators.map((_, i) => `w(v${i + 1})`);
  out.push(...table(
    ['uid', 'dataset', 'eval loss', 'win rate', ...vHeads, 'incentive', 'emission', 'reason for zero'],
    miners.map((m) => [
      String(m.uid), m.kind, m.evalLoss === null ? '-' : m.evalLoss.toFixed(5), m.winRate.toFixed(3),
      ...m.weights.map((w) => w.toFixed(4)), m.incentive.toFixed(4), m.emission.toFixed(4), printable(m.zeroReason ?? ''),
    ]),
  ));
  out.push('', 'validators:');
  out.push(...table(
    ['uid', 'hotkey', 'stake', 'validator trust', 'dividends', 'emission', 'evaluations'],
    r.validators.map((v) => [String(v.uid), `${v.hotkey.slice(0, 10)}…`, v.stake.toFixed(1), v.validatorTrust.toFixed(4), v.dividends.toFixed(4), v.emission.toFixed(4), String(v.evaluations)]),
  ));
  const published = r.validators.filter((v) => v.results);
  if (published.length > 0) {
    out.push('', 'published results (signed; each hotkey\'s commitment points to its repo):');
    for (const [i, v] of r.validators.entries()) {
      if (v.results) out.push(`  v${i + 1}: ${v.results.repo}@${v.results.revision.slice(0, 12)} (round ${v.results.round}, block ${v.results.block})`);
    }
  }
  if (r.workers > 0) {
    out.push('', `evaluation workers (${r.workers} per validator, through Redis):`);
    for (const [i, v] of r.validators.entries()) {
      out.push(`  v${i + 1}: ${(v.workers ?? []).map((w) => `${w.name} ${w.completed} job(s)${w.failed ? `, ${w.failed} failed` : ''}`).join('; ')}`);
    }
  }
  out.push('', 'datasets:');
  for (const m of r.miners) {
    const d = KIND_DESCRIPTIONS[m.kind as DatasetKind];
    if (d) out.push(`  ${m.kind.padEnd(14)} ${d}`);
  }
  out.push('', `took ${r.seconds['total']?.toFixed(1)} s (${Object.entries(r.seconds).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}); state in ${r.dir}`);
  return `${out.join('\n')}\n`;
}

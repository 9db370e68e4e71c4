/**
 * Auditing a validator (`flock audit`): read its published results (signature checked against its
 * hotkey), re-run the evaluations they report — the same competition revision, recipe, seed and
 * dataset commit, through the evaluation layer every validator and worker uses — and compare.
 * With the same compute identity the losses must be bit-identical; with another, each per-example
 * loss must lie within a stated tolerance. The receipts must name the same model, evaluation set,
 * recipe, seed and dataset.
 */
import type { Backend } from '../engine/backend/backend.js';
import type { Receipt } from '../engine/run.js';
import { DATASET_PATH, type EvaluationJob } from '../evaluation/jobs.js';
import { EvaluationJobError, JobRunner } from '../evaluation/run-job.js';
import type { HubClient } from '../hub/index.js';
import { fromWireNumber, type PublishedReceipt, type ResultsDocument, type WireNumber } from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** Default tolerance between different compute identities: |Δloss| ≤ tol · max(1, |loss|) per example. */
export const DEFAULT_AUDIT_TOLERANCE = 1e-3;

/** The receipt fields that name what was computed; they must match whatever computed it. */
const RECEIPT_INPUTS = ['modelHash', 'evalSetHash', 'recipeHash', 'seed', 'datasetHash'] as const;

/** What one re-run found. */
export interface AuditedEvaluation {
  /** `base` or the uids that committed this dataset. */
  label: string;
  uids: number[];
  datasetIdentity: string | null;
  verdict: 'identical' | 'within_tolerance' | 'mismatch' | 'error';
  /** What differed (or failed), in words. */
  details: string[];
  /** Largest |published − recomputed| over the per-example losses (NaN when not compared). */
  maxAbsDiff: number;
  publishedEvalLoss: number | null;
  recomputedEvalLoss: number | null;
  seconds: number;
}

export interface AuditReport {
  validator: string;
  round: number;
  block: number;
  /** The compute identity of the published results, and of this re-run. */
  publishedCompute: string;
  compute: string;
  sameCompute: boolean;
  tolerance: number;
  evaluations: AuditedEvaluation[];
  /** True when every re-run matched. */
  ok: boolean;
}

export interface AuditOptions {
  document: ResultsDocument;
  backend: Backend;
  /** The auditor's own hub client (its cache). */
  hub: HubClient;
  log: Logger;
  /** Audit only these uids (default: every evaluated uid); the base model is always re-run. */
  uids?: readonly number[];
  tolerance?: number;
  onProgress?: (message: string) => void;
}

/** Re-run what `document` reports and compare. Never throws for a mismatch: it is in the report. */
export async function auditResults(o: AuditOptions): Promise<AuditReport> {
  const doc = o.document;
  const tolerance = o.tolerance ?? DEFAULT_AUDIT_TOLERANCE;
  const runner = new JobRunner({ backend: o.backend, hub: o.hub, log: o.log, worker: 'audit' });
  const sameCompute = runner.compute.key === doc.compute;
  const competition = { competitionId: doc.competition.id, repoId: doc.competition.repoId, revision: doc.competition.revision };

  // one re-run per dataset identity: uids that committed the same rows share it
  type Target = { label: string; uids: number[]; identity: string | null; repoId: string | null; revision: string | null; losses: WireNumber[]; evalLoss: WireNumber; receipt: PublishedReceipt | null };
  const targets: Target[] = [{ label: 'base model', uids: [], identity: null, repoId: null, revision: null, losses: doc.base.losses, evalLoss: doc.base.evalLoss, receipt: doc.base.receipt }];
  const byIdentity = new Map<string, Target>();
  for (const u of doc.uids) {
    if (u.losses === null || u.evalLoss === null || !u.datasetIdentity) continue;
    if (o.uids && !o.uids.includes(u.uid)) continue;
    const known = byIdentity.get(u.datasetIdentity);
    if (known) {
      known.uids.push(u.uid);
      continue;
    }
    const t: Target = { label: '', uids: [u.uid], identity: u.datasetIdentity, repoId: u.repoId, revision: u.revision, losses: u.losses, evalLoss: u.evalLoss, receipt: u.receipt };
    byIdentity.set(u.datasetIdentity, t);
    targets.push(t);
  }
  for (const t of targets) if (t.identity) t.label = `uid ${t.uids.join(',')}`;
  const missing = (o.uids ?? []).filter((uid) => !doc.uids.some((u) => u.uid === uid && u.losses !== null));

  const evaluations: AuditedEvaluation[] = [];
  for (const t of targets) {
    o.onProgress?.(`re-running ${t.label}${t.identity ? ` (dataset ${t.identity.slice(0, 12)})` : ''}`);
    const started = performance.now();
    const published = t.losses.map(fromWireNumber);
    const base: Omit<AuditedEvaluation, 'verdict' | 'details' | 'maxAbsDiff' | 'recomputedEvalLoss' | 'seconds'> = {
      label: t.label, uids: t.uids, datasetIdentity: t.identity, publishedEvalLoss: fromWireNumber(t.evalLoss),
    };
    if (t.identity && (!t.repoId || !t.revision)) {
      evaluations.push({ ...base, verdict: 'error', details: ['the results name a dataset identity but no repo and revision to fetch it from'], maxAbsDiff: NaN, recomputedEvalLoss: null, seconds: 0 });
      continue;
    }
    const job: EvaluationJob = {
      competition, compute: runner.compute.key,
      dataset: t.identity ? { repoId: t.repoId!, revision: t.revision!, path: DATASET_PATH, identity: t.identity } : null,
    };
    try {
      const r = await runner.run(job, { id: t.identity ?? 'base' });
      const details = [...receiptDifferences(t.receipt, r.receipt, sameCompute), ...lossDifferences(published, r.losses, sameCompute ? 0 : tolerance)];
      const maxAbsDiff = published.length === r.losses.length ? Math.max(0, ...published.map((p, i) => Math.abs(p - r.losses[i]!))) : NaN;
      const identical = published.length === r.losses.length && published.every((p, i) => Object.is(p, r.losses[i]));
      const verdict = details.length > 0 ? 'mismatch' : identical ? 'identical' : 'within_tolerance';
      evaluations.push({ ...base, verdict, details, maxAbsDiff, recomputedEvalLoss: r.evalLoss, seconds: (performance.now() - started) / 1000 });
    } catch (err) {
      const reason = err instanceof EvaluationJobError ? `${err.kind}: ${err.message}` : errorMessage(err);
      evaluations.push({ ...base, verdict: 'error', details: [`the re-run failed: ${reason}`], maxAbsDiff: NaN, recomputedEvalLoss: null, seconds: (performance.now() - started) / 1000 });
    }
  }
  for (const uid of missing) {
    evaluations.push({
      label: `uid ${uid}`, uids: [uid], datasetIdentity: null, verdict: 'error', details: ['the results report no evaluation for this uid'],
      maxAbsDiff: NaN, publishedEvalLoss: null, recomputedEvalLoss: null, seconds: 0,
    });
  }
  return {
    validator: doc.validator, round: doc.round, block: doc.block, publishedCompute: doc.compute, compute: runner.compute.key, sameCompute, tolerance,
    evaluations, ok: evaluations.every((e) => e.verdict === 'identical' || e.verdict === 'within_tolerance'),
  };
}

/** The receipt fields that must agree; with the same compute identity the trained adapter too. */
function receiptDifferences(published: PublishedReceipt | null, recomputed: Receipt, sameCompute: boolean): string[] {
  if (!published) return ['the results carry no receipt for it'];
  const out: string[] = [];
  for (const f of RECEIPT_INPUTS) {
    if (published[f] !== recomputed[f]) out.push(`receipt ${f}: published ${String(published[f])}, recomputed ${String(recomputed[f])}`);
  }
  // receipts written before the trained adapter's hash was recorded carry null: nothing to compare
  if (sameCompute && published.adapterHash !== null && published.adapterHash !== recomputed.adapterHash) out.push(`receipt adapterHash: published ${published.adapterHash}, recomputed ${recomputed.adapterHash} (same compute identity: the training must be bit-identical)`);
  return out;
}

/** Per-example loss differences beyond `tolerance` (0: bit-identical), the first few named. */
function lossDifferences(published: number[], recomputed: number[], tolerance: number): string[] {
  if (published.length !== recomputed.length) return [`the results have ${published.length} per-example losses, the evaluation set gives ${recomputed.length}`];
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < published.length; i++) {
    const p = published[i]!;
    const r = recomputed[i]!;
    const ok = tolerance === 0 ? Object.is(p, r) : Math.abs(p - r) <= tolerance * Math.max(1, Math.abs(r));
    if (ok) continue;
    count++;
    if (bad.length < 5) bad.push(`example ${i}: published ${p}, recomputed ${r}`);
  }
  if (count === 0) return [];
  const what = tolerance === 0 ? 'differ (the same compute identity must give bit-identical losses)' : `differ by more than ${tolerance} × max(1, |loss|)`;
  return [`${count} of ${published.length} per-example losses ${what}`, ...bad];
}

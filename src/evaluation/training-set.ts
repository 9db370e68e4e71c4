/**
 * A dataset's rows as the validator trains on them (the recipe, and scoring step 3 of docs/protocol.md): validated,
 * with rows that match evaluation examples dropped, each with its row hash (the engine orders rows
 * by it). Read by the intake thread one evaluation ahead, so loading the next dataset overlaps
 * training the current one.
 */
import { contamination, rowHash, validateDataset, type CanonicalRow, type DatasetFingerprints } from '../dataset/index.js';

export interface TrainingRequest {
  /** The dataset file (in the hub cache). */
  path: string;
  maxBytes: number;
  maxRows: number;
  /** The evaluation set's fingerprints (rows matching them are dropped). */
  evalFingerprints: DatasetFingerprints;
}

export type TrainingOutcome =
  /** `identity`: the dataset identity of the file's rows (before dropping any). */
  | { kind: 'training'; rows: { row: CanonicalRow; hash: string }[]; dropped: number; identity: string }
  /** The file cannot be trained on (it changed on disk, or no row is left): the reason. */
  | { kind: 'unusable'; reason: string };

/** Read a dataset file for training. */
export async function loadTrainingSet(request: TrainingRequest): Promise<TrainingOutcome> {
  const ds = await validateDataset(request.path, { maxFileBytes: request.maxBytes, maxRows: request.maxRows });
  if (ds.errorCount > 0) return { kind: 'unusable', reason: `the dataset changed on disk and is now invalid: ${ds.errors[0] ?? ''}` };
  const bad = new Set(contamination(ds.fingerprints, request.evalFingerprints).contaminatedRows);
  const rows = ds.rows.filter((_, i) => !bad.has(i)).map((row) => ({ row, hash: rowHash(row) }));
  if (rows.length === 0) return { kind: 'unusable', reason: 'no row is left to train on after dropping the rows that match evaluation examples' };
  return { kind: 'training', rows, dropped: bad.size, identity: ds.identity };
}

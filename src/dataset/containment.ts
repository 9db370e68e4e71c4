/**
 * Both directions of the overlap of two datasets: O(A,B), the share of A's rows that match B, and
 * C(A,B), the share of B's rows that match A ("how much of B does A hold"). A dataset made of all
 * of B plus many new rows has a small O(A,B) but C(A,B) = 1; the copy rule of protocol 2 reads both
 * (docs/protocol.md, "Copies").
 */
import { RowMatcher, Sketch, type DatasetFingerprints } from './sketch.js';

export interface TwoWayOverlap {
  /** Rows of A, and those that match B (exactly or nearly), and those with an exact copy in B. */
  rows: number;
  matched: number;
  exact: number;
  /** O(A,B) = matched ÷ rows (0 for an empty A). */
  overlap: number;
  /** Rows of B, and those that match A, and those with an exact copy in A. */
  otherRows: number;
  otherMatched: number;
  otherExact: number;
  /** C(A,B) = otherMatched ÷ otherRows (0 for an empty B). */
  containment: number;
}

/**
 * O(A,B) and C(A,B) from the two datasets' fingerprints.
 *
 * @example
 * const o = twoWayOverlap(laterFp, earlierFp);
 * o.overlap;      // share of the later dataset's rows found in the earlier one
 * o.containment;  // share of the earlier dataset's rows the later one holds
 */
export function twoWayOverlap(a: DatasetFingerprints, b: DatasetFingerprints): TwoWayOverlap {
  const forward = new RowMatcher(a).match(Sketch.fromFingerprints(b));
  const backward = new RowMatcher(b).match(Sketch.fromFingerprints(a));
  return {
    rows: a.rows, matched: forward.matched, exact: forward.exact, overlap: a.rows === 0 ? 0 : forward.matched / a.rows,
    otherRows: b.rows, otherMatched: backward.matched, otherExact: backward.exact, containment: b.rows === 0 ? 0 : backward.matched / b.rows,
  };
}

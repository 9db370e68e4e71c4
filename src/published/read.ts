/**
 * Reading validators' published results (src/protocol/results.ts) from public sources only: the
 * chain says which hotkeys point to a results repo (`{"results":"owner/name"}`), the hub holds the
 * signed `results.json`. Each file is read with a size cap, parsed, and its signature checked
 * against the hotkey whose commitment points to it. One validator's bad or missing file is a
 * reason for that validator; the others are read all the same.
 */
import { readFile } from 'node:fs/promises';
import type { Chain, Metagraph } from '../chain/chain.js';
import { verifyResults } from '../chain/results-signature.js';
import { DownloadCapExceededError, EntryNotFoundError } from '../hub/errors.js';
import type { HubClient } from '../hub/index.js';
import { parseResultsPointer, parseSignedResults, RESULTS_FILE, RESULTS_MAX_BYTES, type SignedResults } from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';

/** Results files read at once. */
const READ_CONCURRENCY = 8;

/** One validator's published results as read: the verified file, or why there is none. */
export type PublishedResults =
  | { ok: true; hotkey: string; uid: number | null; repoId: string; revision: string; pointerBlock: number; signed: SignedResults }
  | { ok: false; hotkey: string; uid: number | null; repoId: string | null; revision: string | null; pointerBlock: number; reason: string };

export interface ReadOptions {
  chain: Chain;
  hub: HubClient;
  netuid: number;
  /** Read only these hotkeys' results (default: every hotkey with a results pointer). */
  hotkeys?: readonly string[];
  /** A revision of the results repo to read instead of the latest (with one hotkey). */
  revision?: string;
  /** Cap on a results file (default `RESULTS_MAX_BYTES`). */
  maxBytes?: number;
  /** The metagraph, when the caller has it (for uids). */
  metagraph?: Metagraph;
}

/**
 * Every validator's latest published results on the subnet (or those of `hotkeys`), in uid order.
 *
 * @example
 * for (const r of await readPublishedResults({ chain, hub, netuid: 1 })) if (r.ok) console.log(r.hotkey, r.signed.document.round);
 */
export async function readPublishedResults(o: ReadOptions): Promise<PublishedResults[]> {
  const [commitments, metagraph] = await Promise.all([o.chain.getAllCommitments({ netuid: o.netuid }), o.metagraph ?? o.chain.metagraph({ netuid: o.netuid })]);
  const uidOf = new Map(metagraph.hotkeys.map((h, uid) => [h, uid]));
  const wanted = o.hotkeys ? new Set(o.hotkeys) : null;
  const out: PublishedResults[] = [];
  const reads: Array<{ hotkey: string; uid: number | null; pointerBlock: number; repoId: string }> = [];
  for (const c of commitments) {
    if (wanted && !wanted.has(c.hotkey)) continue;
    const pointer = parseResultsPointer(c.fields[0] ?? c.data);
    const base = { hotkey: c.hotkey, uid: uidOf.get(c.hotkey) ?? null, pointerBlock: c.block };
    if (!pointer.ok) {
      if (wanted) out.push({ ok: false, ...base, repoId: null, revision: null, reason: pointer.code === 'not_results' ? 'its commitment is not a results pointer: it publishes no results' : `its results pointer is unusable: ${pointer.reason}` });
      continue;
    }
    reads.push({ ...base, repoId: pointer.value.repoId });
  }
  // a few files at a time: a subnet's validators are read in a few round trips, the hub is not flooded
  let next = 0;
  const readers = Array.from({ length: Math.min(READ_CONCURRENCY, reads.length) }, async () => {
    while (next < reads.length) {
      const p = reads[next++]!;
      out.push(await readOne(p, o));
    }
  });
  await Promise.all(readers);
  if (wanted) {
    for (const hotkey of wanted) {
      if (!out.some((r) => r.hotkey === hotkey)) out.push({ ok: false, hotkey, uid: uidOf.get(hotkey) ?? null, repoId: null, revision: null, pointerBlock: 0, reason: 'it has no commitment on this subnet: it publishes no results' });
    }
  }
  return out.sort((a, b) => (a.uid ?? Infinity) - (b.uid ?? Infinity) || a.hotkey.localeCompare(b.hotkey));
}

async function readOne(p: { hotkey: string; uid: number | null; pointerBlock: number; repoId: string }, o: ReadOptions): Promise<PublishedResults> {
  let revision: string;
  try {
    revision = await o.hub.resolveRevision({ repo: p.repoId, type: 'dataset', revision: o.revision ?? 'main' });
  } catch (err) {
    return { ok: false, ...p, revision: null, reason: `its results repo ${p.repoId} cannot be read: ${errorMessage(err)}` };
  }
  const read = await readResultsAt({ hub: o.hub, repoId: p.repoId, revision, hotkey: p.hotkey, netuid: o.netuid, maxBytes: o.maxBytes });
  return read.ok ? { ok: true, ...p, revision, signed: read.signed } : { ok: false, ...p, revision, reason: read.reason };
}

/**
 * One results file as read at one commit: verified, or why not — `refused` (the file is bad: not
 * parsable, badly signed, another subnet's, too large), `absent` (the commit holds no such file)
 * or `unreadable` (the hub did not give it: away, failing; another try may succeed).
 */
export type ResultsAt = { ok: true; signed: SignedResults } | { ok: false; reason: string; failure: 'refused' | 'absent' | 'unreadable' };

/**
 * `results.json` of a results repo at one commit (a full SHA): read with a size cap, parsed, its
 * signature checked against `hotkey` (the validator whose commitment points to the repo), and its
 * netuid against `netuid`.
 */
export async function readResultsAt(o: { hub: HubClient; repoId: string; revision: string; hotkey: string; netuid: number; maxBytes?: number }): Promise<ResultsAt> {
  const at = `${RESULTS_FILE} of ${o.repoId}@${o.revision.slice(0, 12)}`;
  let text: string;
  try {
    const file = await o.hub.downloadFile({ repo: o.repoId, type: 'dataset', revision: o.revision, path: RESULTS_FILE, maxBytes: o.maxBytes ?? RESULTS_MAX_BYTES });
    text = await readFile(file, 'utf8');
  } catch (err) {
    const failure = err instanceof EntryNotFoundError ? 'absent' : err instanceof DownloadCapExceededError ? 'refused' : 'unreadable';
    return { ok: false, reason: `${at} cannot be read: ${errorMessage(err)}`, failure };
  }
  const refused = (reason: string): ResultsAt => ({ ok: false, reason, failure: 'refused' });
  const parsed = parseSignedResults(text, { maxBytes: o.maxBytes });
  if (!parsed.ok) return refused(`${at} is refused: ${parsed.reason}`);
  const verified = await verifyResults(parsed.value, o.hotkey);
  if (!verified.ok) return refused(`${at} is refused: ${verified.reason}`);
  if (parsed.value.document.netuid !== o.netuid) return refused(`${at} is for netuid ${parsed.value.document.netuid}, not ${o.netuid}`);
  return { ok: true, signed: parsed.value };
}

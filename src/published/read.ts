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
  const fail = (reason: string, revision: string | null = null): PublishedResults => ({ ok: false, ...p, revision, reason });
  let revision: string;
  try {
    revision = await o.hub.resolveRevision({ repo: p.repoId, type: 'dataset', revision: o.revision ?? 'main' });
  } catch (err) {
    return fail(`its results repo ${p.repoId} cannot be read: ${errorMessage(err)}`);
  }
  let text: string;
  try {
    const file = await o.hub.downloadFile({ repo: p.repoId, type: 'dataset', revision, path: RESULTS_FILE, maxBytes: o.maxBytes ?? RESULTS_MAX_BYTES });
    text = await readFile(file, 'utf8');
  } catch (err) {
    return fail(`${RESULTS_FILE} of ${p.repoId}@${revision.slice(0, 12)} cannot be read: ${errorMessage(err)}`, revision);
  }
  const parsed = parseSignedResults(text, { maxBytes: o.maxBytes });
  if (!parsed.ok) return fail(`${RESULTS_FILE} of ${p.repoId}@${revision.slice(0, 12)} is refused: ${parsed.reason}`, revision);
  const verified = await verifyResults(parsed.value, p.hotkey);
  if (!verified.ok) return fail(`${RESULTS_FILE} of ${p.repoId}@${revision.slice(0, 12)} is refused: ${verified.reason}`, revision);
  if (parsed.value.document.netuid !== o.netuid) return fail(`${RESULTS_FILE} of ${p.repoId}@${revision.slice(0, 12)} is for netuid ${parsed.value.document.netuid}, not ${o.netuid}`, revision);
  return { ok: true, ...p, revision, signed: parsed.value };
}

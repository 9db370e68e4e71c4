/**
 * What the dashboard knows, refreshed in the background from public sources only: the chain
 * (metagraph, subnet, commitments) on every new block, the owner's competition and the
 * validators' published results on a timer (and when a results pointer appears or changes).
 * Requests never trigger work here; they read `snapshot`.
 *
 * A results repo is re-read only when its head revision moved, so a refresh costs one small
 * request per validator when nothing changed. Each validator's earlier rounds (its repo's commits,
 * the last `historyRounds`) are read in the background after its latest, and kept per revision —
 * a revision's file never changes — so each is downloaded once. When the chain or the hub stops
 * answering, the last known state stays, marked stale since the first failure.
 */
import type { Chain, Commitment, Metagraph, SubnetInfo } from '../chain/chain.js';
import { HubTimeoutError, HubUnavailableError } from '../hub/errors.js';
import type { HubClient } from '../hub/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, fromWireNumber, parseCompetition, parseCompetitionPointer, parseResultsPointer,
  type Competition, type CompetitionPointer, type ResultsDocument,
} from '../protocol/index.js';
import { readResultsHistory } from '../published/history.js';
import { readPublishedResults } from '../published/read.js';
import { errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { readFile } from 'node:fs/promises';

/** A source that stopped answering: since when (ms since epoch) and the first error. */
export interface Staleness {
  since: number;
  reason: string;
}

export interface ChainState {
  metagraph: Metagraph;
  subnet: SubnetInfo;
  commitments: Map<string, Commitment>;
  /** When it was read (ms since epoch). */
  at: number;
}

/** One round of a validator's results, kept small: per uid what the leaderboard and history show. */
export interface HistoryEntry {
  revision: string;
  round: number;
  block: number;
  createdAt: string;
  baseLoss: number;
  uids: Int32Array;
  /** The hotkey at each uid when the round was scored (a uid changes hands when re-registered). */
  hotkeys: readonly string[];
  evalLoss: Float64Array;
  weight: Float64Array;
  /** uid → reason for a zero (stage-prefixed). */
  reasons: Map<number, string>;
}

export interface ValidatorResults {
  hotkey: string;
  repoId: string;
  pointerBlock: number;
  /** The latest verified document (null: none read yet). */
  latest: { revision: string; document: ResultsDocument; readAt: number } | null;
  /** Why the latest revision could not be used (refused, unreadable), and since when; null when `latest` is current. */
  problem: (Staleness & { revision: string | null }) | null;
  /** Verified rounds, newest first: the repo's history once listed, and every round seen since. */
  history: HistoryEntry[];
  /** Earlier revisions whose results were refused (newest first), each with the reason. */
  refusedRounds: { revision: string; date: string; reason: string }[];
  /** True once the repo's commits were listed and read (before: only rounds seen since start). */
  historyListed: boolean;
  /** Why the history is incomplete (listing failed, some revisions unreadable); null when it is not. */
  historyProblem: string | null;
}

export interface CompetitionState {
  pointer: CompetitionPointer | null;
  competition: Competition | null;
  /** Why there is none (no pointer, unreadable or invalid competition.json). */
  problem: string | null;
}

export interface IncentivePoint {
  block: number;
  incentive: number;
  emission: number;
}

export interface Snapshot {
  /** Bumped whenever anything a page shows changed. */
  version: number;
  netuid: number;
  hubUrl: string;
  chain: ChainState | null;
  competition: CompetitionState;
  /** Validators with a results pointer, by hotkey. */
  results: Map<string, ValidatorResults>;
  /** Revisions of each results repo read and kept (the history's depth). */
  historyRounds: number;
  /** hotkey → incentive and emission at the blocks seen (oldest first). */
  incentive: Map<string, IncentivePoint[]>;
  stale: { chain: Staleness | null; hub: Staleness | null };
  /** True once chain, competition and every results pointer have been read (or failed) once. */
  complete: boolean;
  updatedAt: number;
}

export interface DashboardSourceOptions {
  chain: Chain;
  hub: HubClient;
  netuid: number;
  log?: Logger;
  /** Results and competition are re-checked this often (default 60 s); the chain on every block. */
  resultsEveryMs?: number;
  /** Revisions of each results repo read and kept, newest first (default 50). */
  historyRounds?: number;
  /** Points kept per uid's incentive history (default 240). */
  incentivePoints?: number;
  /** Parallel hub requests (default 8). */
  concurrency?: number;
  now?: () => number;
}

/** `stage: reason`, without repeating the stage when the reason already says it. */
export function zeroReason(stage: string | null, reason: string | null): string | null {
  if (!stage && !reason) return null;
  if (!stage) return reason;
  if (!reason) return stage;
  return reason.startsWith(`${stage}:`) ? reason : `${stage}: ${reason}`;
}

/**
 * A round kept small. `intern` returns one shared instance per hotkey text, so many rounds of the
 * same uids hold one copy of each hotkey.
 */
export function historyEntry(revision: string, d: ResultsDocument, intern: (hotkey: string) => string = (h) => h): HistoryEntry {
  const n = d.uids.length;
  const hotkeys = new Array<string>(n);
  const e: HistoryEntry = {
    revision, round: d.round, block: d.block, createdAt: d.createdAt, baseLoss: fromWireNumber(d.base.evalLoss),
    uids: new Int32Array(n), hotkeys, evalLoss: new Float64Array(n), weight: new Float64Array(n), reasons: new Map(),
  };
  d.uids.forEach((u, i) => {
    e.uids[i] = u.uid;
    hotkeys[i] = intern(u.hotkey);
    e.evalLoss[i] = u.evalLoss === null ? Number.NaN : fromWireNumber(u.evalLoss);
    e.weight[i] = u.weight;
    const why = u.weight > 0 ? null : zeroReason(u.stage, u.reason);
    if (why) e.reasons.set(u.uid, why);
  });
  return e;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const isHubAway = (err: unknown) => err instanceof HubUnavailableError || err instanceof HubTimeoutError;

/** What is known of one revision of a results repo (a revision's file never changes). */
type KnownRevision = { kind: 'round'; entry: HistoryEntry } | { kind: 'refused'; date: string; reason: string } | { kind: 'absent' };

/** One validator's results repo as read so far: its revisions newest first, and what each holds. */
interface RepoHistory {
  repoId: string;
  order: string[];
  known: Map<string, KnownRevision>;
  /** The head revision whose history was listed and read completely (null: not yet). */
  listedHead: string | null;
}

export class DashboardSource {
  snapshot: Snapshot;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners = new Set<(s: Snapshot) => void>();
  private running: Promise<void> | null = null;
  private pending: { results: boolean } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => Promise<void>) | null = null;
  private closed = false;
  private competitionKey = '';
  private fingerprint = '';
  /** hotkey → its results repo's revisions as read. */
  private readonly histories = new Map<string, RepoHistory>();
  /** hotkey → the head revision of its results repo at the last check. */
  private readonly heads = new Map<string, string>();
  private readonly hotkeyTexts = new Map<string, string>();
  private historyRun: Promise<void> | null = null;
  private historyAgain = false;

  constructor(private readonly o: DashboardSourceOptions) {
    this.log = o.log ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.snapshot = {
      version: 0, netuid: o.netuid, hubUrl: o.hub.hubUrl, chain: null, competition: { pointer: null, competition: null, problem: null },
      results: new Map(), historyRounds: o.historyRounds ?? 50, incentive: new Map(), stale: { chain: null, hub: null }, complete: false, updatedAt: this.now(),
    };
  }

  /** Read everything once, then follow new blocks and poll the results. */
  async start(): Promise<void> {
    const first = this.refresh({ results: true });
    try {
      this.unwatch = await this.o.chain.watchBlocks({ onBlock: () => void this.refresh({ results: false }) });
    } catch (err) {
      this.log.warning(`cannot follow new blocks (${errorMessage(err)}); polling instead`);
    }
    const every = this.o.resultsEveryMs ?? 60_000;
    // without a block subscription the timer also picks up new blocks
    this.timer = setInterval(() => void this.refresh({ results: true }), every);
    this.timer.unref();
    await first;
  }

  /** Called after every change with the new snapshot. Returns the unsubscribe function. */
  onChange(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Refresh now (coalesced: while one runs, one more is queued). `results` also re-checks the
   * competition and every results repo; without it only the chain is read (and the results whose
   * pointer is new or changed).
   */
  refresh(what: { results: boolean }): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.pending = { results: (this.pending?.results ?? false) || what.results };
      return this.running;
    }
    this.running = (async () => {
      let next: { results: boolean } | null = what;
      while (next && !this.closed) {
        this.pending = null;
        try {
          await this.refreshOnce(next.results);
        } catch (err) {
          this.log.warning(`dashboard refresh failed: ${errorMessage(err)}`);
        }
        next = this.pending;
      }
      this.running = null;
    })();
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.unwatch?.().catch(() => undefined);
    await this.running;
    await this.historyRun;
  }

  /** Resolves when the background reads of earlier rounds have finished (for tests and benchmarks). */
  async historyIdle(): Promise<void> {
    while (this.historyRun) await this.historyRun;
  }

  private async refreshOnce(withResults: boolean): Promise<void> {
    const s = this.snapshot;
    const chain = await this.readChain();
    const state = chain ?? s.chain;
    if (state) {
      await this.readCompetition(state, withResults);
      await this.readResults(state, withResults || !s.complete);
      s.complete = true;
    }
    s.updatedAt = this.now();
    this.bumpIfChanged();
  }

  private async readChain(): Promise<ChainState | null> {
    const s = this.snapshot;
    try {
      const [metagraph, subnet, list] = await Promise.all([
        this.o.chain.metagraph({ netuid: this.o.netuid }), this.o.chain.subnetInfo({ netuid: this.o.netuid }), this.o.chain.getAllCommitments({ netuid: this.o.netuid }),
      ]);
      const state: ChainState = { metagraph, subnet, commitments: new Map(list.map((c) => [c.hotkey, c])), at: this.now() };
      if (s.stale.chain) this.log.info('the chain answers again');
      s.stale.chain = null;
      s.chain = state;
      this.recordIncentive(metagraph);
      return state;
    } catch (err) {
      if (!s.stale.chain) {
        s.stale.chain = { since: this.now(), reason: errorMessage(err) };
        this.log.warning(`the chain does not answer: ${errorMessage(err)}; showing what was known`);
      }
      return null;
    }
  }

  private recordIncentive(mg: Metagraph): void {
    const keep = this.o.incentivePoints ?? 240;
    const seen = new Set<string>();
    mg.hotkeys.forEach((hotkey, uid) => {
      seen.add(hotkey);
      let points = this.snapshot.incentive.get(hotkey);
      if (!points) this.snapshot.incentive.set(hotkey, (points = []));
      if (points.length > 0 && points[points.length - 1]!.block >= mg.block.number) return;
      points.push({ block: mg.block.number, incentive: mg.incentive[uid] ?? 0, emission: mg.emission[uid] ?? 0 });
      if (points.length > keep) points.splice(0, points.length - keep);
    });
    for (const hotkey of this.snapshot.incentive.keys()) if (!seen.has(hotkey)) this.snapshot.incentive.delete(hotkey);
  }

  private async readCompetition(state: ChainState, force: boolean): Promise<void> {
    const s = this.snapshot;
    const owner = state.commitments.get(state.subnet.ownerHotkey);
    if (!owner) {
      s.competition = { pointer: null, competition: null, problem: 'the subnet owner has committed no competition pointer' };
      this.competitionKey = '';
      return;
    }
    const pointer = parseCompetitionPointer(owner.fields[0] ?? owner.data);
    if (!pointer.ok) {
      s.competition = { pointer: null, competition: null, problem: `the owner's commitment is no usable competition pointer: ${pointer.reason}` };
      this.competitionKey = '';
      return;
    }
    const key = `${pointer.value.repoId}@${pointer.value.revision}`;
    if (key === this.competitionKey && !(force && s.competition.problem)) return;
    try {
      const file = await this.o.hub.downloadFile({ repo: pointer.value.repoId, type: 'dataset', revision: pointer.value.revision, path: COMPETITION_FILE, maxBytes: COMPETITION_FILE_MAX_BYTES });
      const parsed = parseCompetition(await readFile(file, 'utf8'));
      s.competition = parsed.ok ? { pointer: pointer.value, competition: parsed.value, problem: null } : { pointer: pointer.value, competition: null, problem: parsed.reason };
      this.competitionKey = key;
    } catch (err) {
      s.competition = { pointer: pointer.value, competition: s.competition.competition, problem: `${COMPETITION_FILE} cannot be read: ${errorMessage(err)}` };
      this.markHub(err);
    }
  }

  private async readResults(state: ChainState, all: boolean): Promise<void> {
    const s = this.snapshot;
    const pointers: { hotkey: string; repoId: string; block: number }[] = [];
    for (const c of state.commitments.values()) {
      const p = parseResultsPointer(c.fields[0] ?? c.data);
      if (p.ok) pointers.push({ hotkey: c.hotkey, repoId: p.value.repoId, block: c.block });
    }
    const live = new Set(pointers.map((p) => p.hotkey));
    for (const hotkey of s.results.keys()) {
      if (live.has(hotkey)) continue;
      s.results.delete(hotkey);
      this.histories.delete(hotkey);
      this.heads.delete(hotkey);
    }
    const due = pointers.filter((p) => {
      const known = s.results.get(p.hotkey);
      return all || !known || known.repoId !== p.repoId;
    });
    if (due.length === 0) return;
    for (const p of due) {
      const known = s.results.get(p.hotkey);
      if (!known || known.repoId !== p.repoId) {
        s.results.set(p.hotkey, { hotkey: p.hotkey, repoId: p.repoId, pointerBlock: p.block, latest: null, problem: null, history: [], refusedRounds: [], historyListed: false, historyProblem: null });
        this.histories.set(p.hotkey, { repoId: p.repoId, order: [], known: new Map(), listedHead: null });
        this.heads.delete(p.hotkey);
      } else known.pointerBlock = p.block;
    }
    // one small request per repo: its head revision; only repos that moved are read again
    let reached = 0;
    let away: unknown = null;
    const heads = await mapLimited(due, this.o.concurrency ?? 8, async (p) => {
      try {
        const revision = await this.o.hub.resolveRevision({ repo: p.repoId, type: 'dataset', revision: 'main' });
        reached++;
        return { p, revision };
      } catch (err) {
        if (isHubAway(err)) away ??= err;
        else reached++;
        this.setProblem(p.hotkey, null, `its results repo ${p.repoId} cannot be read: ${errorMessage(err)}`);
        return { p, revision: null };
      }
    });
    if (reached === 0 && away) this.markHub(away);
    else if (reached > 0 && s.stale.hub) {
      s.stale.hub = null;
      this.log.info('the hub answers again');
    }
    for (const { p, revision } of heads) if (revision !== null) this.heads.set(p.hotkey, revision);
    const moved = heads.filter(({ p, revision }) => {
      if (revision === null) return false;
      const r = s.results.get(p.hotkey)!;
      return r.latest?.revision !== revision && r.problem?.revision !== revision;
    }).map(({ p }) => p.hotkey);
    if (moved.length === 0) {
      this.scheduleHistory();
      return;
    }
    // a few groups read side by side: one validator's download overlaps another's verification
    const groups = Math.min(this.o.concurrency ?? 8, moved.length);
    const chunks = Array.from({ length: groups }, (_, g) => moved.filter((_, i) => i % groups === g));
    const read = (await Promise.all(chunks.map((hotkeys) => readPublishedResults({ chain: this.o.chain, hub: this.o.hub, netuid: this.o.netuid, hotkeys, metagraph: state.metagraph })))).flat();
    for (const r of read) {
      const known = s.results.get(r.hotkey);
      if (!known) continue;
      if (!r.ok) {
        this.setProblem(r.hotkey, r.revision, r.reason);
        continue;
      }
      known.latest = { revision: r.revision, document: r.signed.document, readAt: this.now() };
      known.problem = null;
      const history = this.histories.get(r.hotkey);
      if (history && !history.known.has(r.revision)) {
        history.known.set(r.revision, { kind: 'round', entry: historyEntry(r.revision, r.signed.document, this.intern) });
        if (!history.order.includes(r.revision)) history.order.unshift(r.revision);
        this.showHistory(known, history);
      }
    }
    this.scheduleHistory();
  }

  private readonly intern = (hotkey: string): string => {
    const known = this.hotkeyTexts.get(hotkey);
    if (known !== undefined) return known;
    if (this.hotkeyTexts.size >= 100_000) this.hotkeyTexts.clear();
    this.hotkeyTexts.set(hotkey, hotkey);
    return hotkey;
  };

  /**
   * Read, in the background, the history of every results repo whose head moved since its history
   * was last read completely: one listing per repo, and only the revisions not read before.
   */
  private scheduleHistory(): void {
    if (this.closed) return;
    if (this.historyRun) {
      this.historyAgain = true;
      return;
    }
    this.historyRun = (async () => {
      do {
        this.historyAgain = false;
        const due = [...this.heads].filter(([hotkey, head]) => this.histories.get(hotkey)?.listedHead !== head);
        // each repo reads a few files at a time: a few repos side by side keep the hub busy, not flooded
        await mapLimited(due, Math.max(1, Math.floor((this.o.concurrency ?? 8) / 4)), async ([hotkey, head]) => {
          if (this.closed) return;
          try {
            await this.readHistory(hotkey, head);
          } catch (err) {
            this.log.warning(`reading the history of ${hotkey}'s results failed: ${errorMessage(err)}`);
          }
          this.bumpIfChanged();
        });
      } while (this.historyAgain && !this.closed);
    })().finally(() => {
      this.historyRun = null;
    });
  }

  private async readHistory(hotkey: string, head: string): Promise<void> {
    const results = this.snapshot.results.get(hotkey);
    const history = this.histories.get(hotkey);
    if (!results || !history) return;
    const limit = this.snapshot.historyRounds;
    const listed = await readResultsHistory({ hub: this.o.hub, repoId: history.repoId, hotkey, netuid: this.o.netuid, limit, known: (revision) => history.known.has(revision) });
    if (this.histories.get(hotkey) !== history) return; // its pointer changed meanwhile
    if (listed.problem) {
      results.historyProblem = listed.problem;
      return;
    }
    let unreadable: string | null = null;
    for (const r of listed.revisions) {
      if (r.status === 'verified') history.known.set(r.revision, { kind: 'round', entry: historyEntry(r.revision, r.signed.document, this.intern) });
      else if (r.status === 'refused') history.known.set(r.revision, { kind: 'refused', date: r.date, reason: r.reason });
      else if (r.status === 'absent') history.known.set(r.revision, { kind: 'absent' });
      else if (r.status === 'unreadable') unreadable ??= r.reason;
    }
    // the listing's order, after any newer round the results refresh read while it was listed
    const order = listed.revisions.map((r) => r.revision);
    const inListing = new Set(order);
    const firstShared = history.order.findIndex((r) => inListing.has(r));
    const newer = history.order.slice(0, firstShared === -1 ? history.order.length : firstShared);
    history.order = [...newer, ...order].slice(0, 2 * limit);
    const keep = new Set(history.order);
    for (const revision of history.known.keys()) if (!keep.has(revision)) history.known.delete(revision);
    // the head the listing saw: when the repo moved meanwhile, the next refresh lists it again
    if (!unreadable) history.listedHead = order[0] ?? head;
    results.historyListed = true;
    results.historyProblem = unreadable ? `some earlier rounds could not be read (tried again later): ${unreadable}` : null;
    this.showHistory(results, history);
  }

  /** The snapshot's view of a repo's history: verified rounds and refused revisions, newest first. */
  private showHistory(results: ValidatorResults, history: RepoHistory): void {
    const rounds: HistoryEntry[] = [];
    const refused: ValidatorResults['refusedRounds'] = [];
    for (const revision of history.order) {
      const k = history.known.get(revision);
      if (k?.kind === 'round') rounds.push(k.entry);
      else if (k?.kind === 'refused') refused.push({ revision, date: k.date, reason: k.reason });
    }
    const limit = this.snapshot.historyRounds;
    results.history = rounds.slice(0, limit);
    results.refusedRounds = refused.slice(0, limit);
  }

  private setProblem(hotkey: string, revision: string | null, reason: string): void {
    const r = this.snapshot.results.get(hotkey);
    if (!r) return;
    if (r.problem && r.problem.reason === reason && r.problem.revision === revision) return;
    r.problem = { since: this.now(), reason, revision };
  }

  private markHub(err: unknown): void {
    if (!isHubAway(err) || this.snapshot.stale.hub) return;
    this.snapshot.stale.hub = { since: this.now(), reason: errorMessage(err) };
    this.log.warning(`the hub does not answer: ${errorMessage(err)}; showing what was known`);
  }

  /** A new version when what the pages show changed. */
  private bumpIfChanged(): void {
    const s = this.snapshot;
    const parts = [
      s.chain?.metagraph.block.number ?? -1, s.chain?.commitments.size ?? -1, s.complete,
      s.stale.chain?.since ?? 0, s.stale.hub?.since ?? 0, this.competitionKey, s.competition.problem ?? '',
      ...[...s.results.values()].map((r) => `${r.hotkey}:${r.latest?.revision ?? ''}:${r.problem?.since ?? 0}:${r.history.length}:${r.history[r.history.length - 1]?.revision ?? ''}:${r.refusedRounds.length}:${r.historyListed}:${r.historyProblem ?? ''}`),
    ];
    const fingerprint = parts.join('|');
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    s.version++;
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log.debug('dashboard listener failed', { err: errorMessage(err) });
      }
    }
  }
}

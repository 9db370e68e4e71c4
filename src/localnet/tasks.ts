/**
 * The local subnet's built-in task and the miners' datasets of known quality. The task is a
 * deterministic synthetic chat task the tiny preset model measurably learns with LoRA in a few
 * steps: the user asks to shout a few short made-up words, the assistant answers them upper-cased
 * in a fixed format. Every generator is seeded, so a localnet run is reproducible.
 */

/** A chat row as written to data.jsonl / eval.jsonl. */
export interface ChatRow {
  system?: string | null;
  conversations: Array<{ role: 'user' | 'assistant'; content: string }>;
}

/** The dataset kinds a localnet miner can hold, in the order they commit. */
export const DATASET_KINDS = ['off-task', 'noisy', 'medium', 'good', 'contaminated', 'copy', 'reworded-copy', 'diluted-copy'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** What each kind is, for the leaderboard's legend. */
export const KIND_DESCRIPTIONS: Record<DatasetKind, string> = {
  'off-task': 'a different task (arithmetic), right answers',
  noisy: 'task prompts, sloppy answers (other words, random case, no frame)',
  medium: 'half right answers, half wrong',
  good: 'task prompts, right answers',
  contaminated: "good rows plus round 1's evaluation set, committed in round 2 once that set was revealed",
  copy: 'a later exact copy of the good dataset',
  'reworded-copy': 'a later copy of the good dataset, shuffled and reworded',
  'diluted-copy': 'a later copy of the good dataset hidden among twice as many new rows',
};

/** Small deterministic generator (32-bit LCG). */
export class Lcg {
  private s: number;
  constructor(seed: number) {
    this.s = (Math.imul(seed + 1, 2654435761) >>> 0) || 1;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return (this.s >>> 8) % n;
  }
}

const LETTERS = 'abcdefghiklmnoprstu';

function word(r: Lcg): string {
  return Array.from({ length: 4 + r.int(3) }, () => LETTERS[r.int(LETTERS.length)]).join('');
}

function words(r: Lcg): string[] {
  return Array.from({ length: 5 + r.int(3) }, () => word(r));
}

const PROMPTS = ['shout:', 'Shout:'];

/** The task's answer: a fixed frame around the words upper-cased (the frame is what a tiny model learns first). */
function rightAnswer(ws: string[]): string {
  return `Here they are in capitals: ${ws.join(' ').toUpperCase()}. Done!`;
}

function taskRow(prompt: string, ws: string[], answer: string): ChatRow {
  return { conversations: [{ role: 'user', content: `${prompt} ${ws.join(' ')}` }, { role: 'assistant', content: answer }] };
}

/** `n` rows of the task with the right answers. */
export function taskRows(n: number, seed: number): ChatRow[] {
  const r = new Lcg(seed);
  return Array.from({ length: n }, () => {
    const ws = words(r);
    return taskRow(PROMPTS[0]!, ws, rightAnswer(ws));
  });
}

/** `n` task prompts with sloppy answers: other random words, random case, no frame. */
export function noisyRows(n: number, seed: number): ChatRow[] {
  const r = new Lcg(seed);
  return Array.from({ length: n }, () => {
    const ws = words(r);
    const answer = words(r).map((w) => (r.int(2) ? w.toUpperCase() : w)).join(r.int(2) ? ' ' : ', ');
    return taskRow(PROMPTS[0]!, ws, answer);
  });
}

/** `n` rows of another task: adding two numbers. */
export function offTaskRows(n: number, seed: number): ChatRow[] {
  const r = new Lcg(seed);
  return Array.from({ length: n }, () => {
    const a = r.int(90) + 10;
    const b = r.int(90) + 10;
    return { conversations: [{ role: 'user', content: `what is ${a} plus ${b}?` }, { role: 'assistant', content: `${a} plus ${b} is ${a + b}.` }] };
  });
}

/** Half right rows, half noisy rows, interleaved. */
export function mediumRows(n: number, seed: number): ChatRow[] {
  const right = taskRows(Math.ceil(n / 2), seed);
  const wrong = noisyRows(Math.floor(n / 2), seed + 7919);
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? right[i / 2]! : wrong[(i - 1) / 2]!));
}

/**
 * A copy that hides: rows shuffled, the prompt re-cased and re-spaced. The near-duplicate
 * fingerprint folds case, punctuation and whitespace, so the copy check still sees it.
 */
export function rewordedCopy(rows: ChatRow[], seed: number): ChatRow[] {
  const r = new Lcg(seed);
  const out = rows.map((row) => ({
    conversations: row.conversations.map((t) => ({
      role: t.role,
      content: t.role === 'user' ? t.content.replace(PROMPTS[0]!, PROMPTS[1]!).replace(/ /g, '  ') : t.content,
    })),
  }));
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One row of `a` after every `b.length / a.length` rows of `b` (the copied rows spread through the file). */
function interleave(a: ChatRow[], b: ChatRow[]): ChatRow[] {
  const out: ChatRow[] = [];
  const step = a.length === 0 ? 0 : b.length / a.length;
  let j = 0;
  a.forEach((row, i) => {
    const until = Math.round((i + 1) * step);
    while (j < until) out.push(b[j++]!);
    out.push(structuredClone(row));
  });
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Sizes of a localnet competition. */
export interface TaskSizes {
  evalRows: number;
  datasetRows: number;
}

/** The evaluation set and every kind's dataset, deterministic in `seed`. */
export function buildTaskData(sizes: TaskSizes, seed = 1): { evalRows: ChatRow[]; datasets: Record<DatasetKind, ChatRow[]> } {
  const evalRows = taskRows(sizes.evalRows, seed);
  const n = sizes.datasetRows;
  const good = taskRows(n, seed + 100);
  // a quarter of the rows come from the evaluation set: far over the 1% contamination limit
  const leaked = Math.max(2, Math.floor(n / 4));
  const contaminated = [...taskRows(n - leaked, seed + 200), ...evalRows.slice(0, leaked)];
  return {
    evalRows,
    datasets: {
      'off-task': offTaskRows(n, seed + 300),
      noisy: noisyRows(n, seed + 400),
      medium: mediumRows(n, seed + 500),
      good,
      contaminated,
      copy: good.map((r) => structuredClone(r)),
      'reworded-copy': rewordedCopy(good, seed + 600),
      // only a third of its rows are the good dataset's, but it holds all of them (protocol 2's containment)
      'diluted-copy': interleave(good, taskRows(2 * n, seed + 700)),
    },
  };
}

/**
 * Seeds of the evaluation sets of sealed rounds 2, 3, …: task rows of these seeds share no row
 * (exactly or nearly) with any localnet dataset, round 1's set or each other, at both run sizes —
 * so an honest miner is never zeroed for contamination by a later round's set
 * (test/localnet/tasks.test.ts checks it; some other seeds do collide).
 */
export const ROUND_SET_SEEDS = [9002, 9003, 9004, 9007, 9008, 9009, 9011] as const;

/** Sealed rounds a local subnet can run (round 1 and one per seed above). */
export const MAX_LOCALNET_ROUNDS = 1 + ROUND_SET_SEEDS.length;

/**
 * The evaluation set of sealed round `round` (1-based, at most `MAX_LOCALNET_ROUNDS`): round 1's
 * is `buildTaskData`'s `evalRows` (the rows the contaminated miner copies once it is revealed);
 * later rounds draw fresh task rows.
 */
export function roundEvalRows(n: number, round: number): ChatRow[] {
  if (round === 1) return taskRows(n, 1);
  const seed = ROUND_SET_SEEDS[round - 2];
  if (seed === undefined) throw new RangeError(`the local subnet has evaluation sets for rounds 1–${MAX_LOCALNET_ROUNDS}, not ${round}`);
  return taskRows(n, seed);
}

/** Rows as JSONL text. */
export function toJsonl(rows: ChatRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

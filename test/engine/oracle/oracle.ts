/**
 * Running the independent references from the engine's tests — the PyTorch model (llama_torch.py)
 * and the chat templates (chat_template.py) — and the random chat rows both sides are fed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stream } from '../../../src/engine/prng.js';
import type { ChatRow } from '../../../src/engine/template.js';

/** Debian's python3 (where python3-torch lives) ahead of any other python3 on PATH; FLOCK_PYTHON overrides. */
export const PYTHON = process.env['FLOCK_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
export const ORACLE = fileURLToPath(new URL('./llama_torch.py', import.meta.url));
export const TEMPLATE_ORACLE = fileURLToPath(new URL('./chat_template.py', import.meta.url));

/**
 * Run `llama_torch.py MODE MODEL_DIR REQUEST.json` — `chat_template.py` for `encode` (chat rows to
 * ids and labels, no torch) — with the request written under `workDir`, and parse its JSON answer.
 */
export function runOracle<T>(mode: 'eval' | 'train' | 'encode', modelDir: string, workDir: string, request: unknown): T {
  const path = join(workDir, `request-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(request));
  const r = spawnSync(PYTHON, [mode === 'encode' ? TEMPLATE_ORACLE : ORACLE, mode, modelDir, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    throw new Error(`the PyTorch oracle failed (exit ${r.status}): ${r.stderr || r.error}\n---> HINT: install python3-torch (apt-get install python3-torch), as scripts/test.sh does`);
  }
  return JSON.parse(r.stdout) as T;
}

/**
 * `n` rows of random text from `seed`: every other one with a system prompt; the user's and the
 * assistant's lengths are `min + random(spread)` characters.
 */
export function randomChatRows(n: number, seed: number, lengths: { user: [number, number]; assistant: [number, number] }): ChatRow[] {
  const s = new Stream(seed);
  const text = (k: number) => Array.from({ length: k }, () => 'abcdefgh ij.,?'[s.nextInt(14)]).join('');
  return Array.from({ length: n }, (_, i) => ({
    system: i % 2 ? 'be brief' : null,
    conversations: [
      { role: 'user' as const, content: text(lengths.user[0] + s.nextInt(lengths.user[1])) },
      { role: 'assistant' as const, content: text(lengths.assistant[0] + s.nextInt(lengths.assistant[1])) },
    ],
  }));
}

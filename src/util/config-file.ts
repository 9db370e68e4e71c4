/**
 * Optional configuration files. A file gives defaults for any flag: keys are the flag's long name
 * without dashes (`wallet.name`, `netuid`, `hub-url`) or nested objects (`wallet: { name: … }`).
 * JSON (`.json`) or a small YAML subset (`key: value`, nesting by indentation, `#` comments) —
 * enough for the files people write by hand, including btcli's `~/.bittensor/config.yml`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { FlockError } from './errors.js';

export type ConfigValues = Map<string, string | number | boolean>;

function flatten(obj: unknown, prefix: string, out: ConfigValues): void {
  if (obj === null || obj === undefined) return;
  if (typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
    return;
  }
  if (typeof obj === 'string' || typeof obj === 'number' || typeof obj === 'boolean') out.set(prefix, obj);
}

function parseScalar(raw: string): string | number | boolean {
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) return v.slice(1, -1);
  return v;
}

/** Parse the YAML subset described above into dotted keys. */
export function parseSimpleYaml(text: string, file = 'config'): ConfigValues {
  const out: ConfigValues = new Map();
  const stack: { indent: number; key: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const stripped = line.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (!stripped.trim()) return;
    const m = /^(\s*)([A-Za-z0-9_.-]+)\s*:\s*(.*)$/.exec(stripped);
    if (!m) throw new FlockError(`${file}:${i + 1}: expected "key: value"`, { hint: 'fix the line or use a JSON config file' });
    const indent = m[1]!.length;
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const key = [...stack.map((s) => s.key), m[2]!].join('.');
    if (m[3]!.trim() === '') stack.push({ indent, key: m[2]! });
    else out.set(key, parseScalar(m[3]!));
  });
  return out;
}

/** Load a config file; missing optional files give an empty map. */
export function loadConfigFile(path: string, { optional = false } = {}): ConfigValues {
  if (!existsSync(path)) {
    if (optional) return new Map();
    throw new FlockError(`config file not found: ${path}`, { hint: 'check the --config path', exitCode: 2 });
  }
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new FlockError(`${path}: invalid JSON (${(err as Error).message})`, { exitCode: 2 });
    }
    const out: ConfigValues = new Map();
    flatten(parsed, '', out);
    return out;
  }
  return parseSimpleYaml(text, path);
}

/**
 * btcli's own config (`~/.bittensor/config.yml`: network, wallet_path, wallet_name, wallet_hotkey)
 * mapped onto our flag names, so a btcli user's defaults carry over.
 */
export function btcliDefaults(values: ConfigValues): ConfigValues {
  const out: ConfigValues = new Map();
  const map: Record<string, string> = {
    network: 'subtensor.network', wallet_path: 'wallet.path', wallet_name: 'wallet.name', wallet_hotkey: 'wallet.hotkey',
  };
  for (const [k, v] of values) if (map[k] && v !== '' && v !== null) out.set(map[k]!, v);
  return out;
}

/**
 * Secrets never reach logs or error messages. `redactSecrets` masks the shapes secrets take in
 * this project — Hugging Face tokens, bearer headers, hex seeds and private keys, mnemonics given
 * as `secretPhrase` — and any value registered with `registerSecret` (e.g. the HF token in use).
 */
const registered = new Set<string>();

/** Remember a secret value so every later log line and error message masks it. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) registered.add(value);
}

const PATTERNS: RegExp[] = [
  /\bhf_[A-Za-z0-9]{8,}\b/g, // Hugging Face user tokens
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi,
  /("?(?:secretPhrase|secretSeed|privateKey|password|token|hf_token|hfToken|seed|mnemonic)"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}]+)/gi,
  /\b0x[0-9a-fA-F]{128}\b/g, // 64-byte private keys
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) out = out.split(secret).join('***');
  out = out.replace(PATTERNS[0]!, 'hf_***');
  out = out.replace(PATTERNS[1]!, '$1***');
  out = out.replace(PATTERNS[2]!, '$1"***"');
  out = out.replace(PATTERNS[3]!, '0x***');
  return out;
}

/**
 * Bittensor keyfiles: JSON with `accountId`, `publicKey`, `privateKey`, `secretPhrase`,
 * `secretSeed`, `ss58Address` (public files only the first, second and last), optionally
 * encrypted. Reading tolerates missing keys and `null` values (old files have them) and loads by
 * priority `secretPhrase` → `secretSeed` → `privateKey` → `ss58Address`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hexToU8a, isHex } from '@polkadot/util';
import { FlockError } from '../../util/errors.js';
import { registerSecret } from '../../util/redact.js';
import { decryptKeyfileData, encryptKeyfileData, keyfileEncryption, type KeyfileEncryption } from './encryption.js';
import {
  keypairFromAddress, keypairFromMnemonic, keypairFromPrivateKey, keypairFromPublicKey, keypairFromSeed, toHex,
  type WalletKeypair,
} from './keypair.js';

/** The JSON inside a keyfile; every key optional and nullable, as in the wild. */
export interface KeyfileJson {
  accountId?: string | null;
  publicKey?: string | null;
  privateKey?: string | null;
  secretPhrase?: string | null;
  secretSeed?: string | null;
  ss58Address?: string | null;
}

/** Supplies the password of an encrypted keyfile (from the environment, a prompt, a test). */
export type PasswordSource = (path: string) => Promise<string> | string;

/** The keyfile JSON of a keypair. `publicOnly` keeps only accountId, publicKey, ss58Address. */
export function keyfileJson(key: WalletKeypair, publicOnly = false): KeyfileJson {
  const pub = toHex(key.publicKey);
  const json: KeyfileJson = { accountId: pub, publicKey: pub };
  if (!publicOnly) {
    if (key.privateKey) json.privateKey = toHex(key.privateKey);
    if (key.mnemonic) json.secretPhrase = key.mnemonic;
    if (key.seed) json.secretSeed = toHex(key.seed);
  }
  json.ss58Address = key.address;
  return json;
}

function hexField(json: KeyfileJson, field: keyof KeyfileJson, bytes: number, path: string): Uint8Array | undefined {
  const v = json[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (!isHex(v) || (v.length - 2) / 2 !== bytes) {
    throw new FlockError(`${path}: ${field} must be 0x followed by ${bytes * 2} hex digits`);
  }
  return hexToU8a(v);
}

/** A keypair from keyfile JSON, by btwallet's priority. */
export async function keypairFromKeyfileJson(json: KeyfileJson, path = 'keyfile'): Promise<WalletKeypair> {
  if (json.secretPhrase) {
    registerSecret(json.secretPhrase);
    return keypairFromMnemonic(json.secretPhrase);
  }
  const seed = hexField(json, 'secretSeed', 32, path);
  if (seed) return keypairFromSeed(seed);
  const privateKey = hexField(json, 'privateKey', 64, path);
  const publicKey = hexField(json, 'publicKey', 32, path) ?? hexField(json, 'accountId', 32, path);
  if (privateKey) {
    const pub = publicKey ?? (json.ss58Address ? keypairFromAddress(json.ss58Address).publicKey : undefined);
    if (!pub) throw new FlockError(`${path}: has a privateKey but no publicKey or ss58Address`, { hint: 'regenerate the key from its mnemonic' });
    return keypairFromPrivateKey(privateKey, pub);
  }
  if (json.ss58Address) return keypairFromAddress(json.ss58Address);
  if (publicKey) return keypairFromPublicKey(publicKey);
  throw new FlockError(`${path}: holds no key (none of secretPhrase, secretSeed, privateKey, ss58Address)`);
}

/**
 * Pre-JSON keyfiles held the secret bare: a 0x-hex mini secret (64 digits) or a BIP39 phrase.
 * (btwallet also reads a bare 128-digit private key, which has no public key beside it to check.)
 */
function rawKeyfileJson(text: string): KeyfileJson | undefined {
  const hex = text.startsWith('0x') ? text : `0x${text}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(hex)) return { secretSeed: hex };
  const words = text.split(/\s+/);
  if ([12, 15, 18, 21, 24].includes(words.length) && words.every((w) => /^[a-z]+$/.test(w))) return { secretPhrase: words.join(' ') };
  return undefined;
}

/** Whether the file at `path` is encrypted, and how. */
export function keyfileEncryptionAt(path: string): KeyfileEncryption {
  return keyfileEncryption(readFileSync(path));
}

/** Thrown when a keyfile is missing. */
export class KeyfileNotFoundError extends FlockError {
  override name = 'KeyfileNotFoundError';
  constructor(readonly path: string, what: string) {
    super(`${what} not found: ${path}`, { hint: 'create it with `flock wallet create`, or check --wallet.name, --wallet.hotkey and --wallet.path' });
  }
}

/**
 * Read a keyfile, decrypting it with `password(path)` when it is encrypted.
 * @example const hot = await readKeyfile('~/.bittensor/wallets/default/hotkeys/default')
 */
export async function readKeyfile(path: string, options: { password?: PasswordSource; what?: string } = {}): Promise<WalletKeypair> {
  if (!existsSync(path)) throw new KeyfileNotFoundError(path, options.what ?? 'keyfile');
  let data: Uint8Array = new Uint8Array(readFileSync(path));
  const kind = keyfileEncryption(data);
  if (kind !== 'none') {
    if (kind === 'nacl' && !options.password) {
      throw new FlockError(`${path} is encrypted and no password was given`, { hint: 'run interactively to be prompted, or set the BT_PW_… variable btcli uses' });
    }
    const password = kind === 'nacl' ? await options.password!(path) : '';
    registerSecret(password);
    data = await decryptKeyfileData(data, password, path);
  }
  const text = new TextDecoder().decode(data).trim();
  let json: KeyfileJson;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    json = parsed as KeyfileJson;
  } catch {
    const raw = rawKeyfileJson(text);
    if (!raw) throw new FlockError(`${path} is not a keyfile (expected JSON, a hex seed or a mnemonic)`, { hint: 'regenerate the key from its mnemonic with `flock wallet regen`' });
    json = raw;
  }
  return keypairFromKeyfileJson(json, path);
}

/** Thrown instead of overwriting a key file. */
export class KeyfileExistsError extends FlockError {
  override name = 'KeyfileExistsError';
  constructor(readonly path: string) {
    super(`refusing to overwrite ${path}`, { hint: 'pass --overwrite to replace it (keep its mnemonic first!)' });
  }
}

/**
 * Write a keyfile with mode 0600 (its folder 0700 when created), encrypted with `password` when given.
 */
export async function writeKeyfile(
  path: string,
  key: WalletKeypair,
  options: { publicOnly?: boolean; password?: string; overwrite?: boolean } = {},
): Promise<void> {
  if (existsSync(path) && !options.overwrite) throw new KeyfileExistsError(path);
  const json = new TextEncoder().encode(JSON.stringify(keyfileJson(key, options.publicOnly)));
  const data = options.password !== undefined ? await encryptKeyfileData(json, options.password) : json;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its old mode through writeFileSync
}

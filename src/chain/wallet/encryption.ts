/**
 * Keyfile encryption as btwallet does it. `$NACL` files are `"$NACL"` ‖ nonce(24) ‖
 * secretbox(JSON) (XSalsa20-Poly1305), keyed by Argon2i13 (opslimit 8, memlimit 512 MiB) over the
 * password with a fixed salt. Each unlock costs ~512 MiB and a few seconds, by design.
 *
 * Passwords may come from the environment the way btwallet saves them: variable
 * `BT_PW_<KEYFILE PATH>` (upper case, `/` and `.` → `_`), value base64(password XOR name bytes).
 */
import sodium from 'libsodium-wrappers-sumo';
import { FlockError } from '../../util/errors.js';

const NACL_PREFIX = '$NACL';
const NACL_SALT = Uint8Array.from([0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1]);
const NACL_OPSLIMIT = 8;
const NACL_MEMLIMIT = 536_870_912;

export type KeyfileEncryption = 'nacl' | 'ansible-vault' | 'fernet' | 'none';

function startsWith(data: Uint8Array, prefix: string): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Which encryption a keyfile's bytes use. */
export function keyfileEncryption(data: Uint8Array): KeyfileEncryption {
  if (startsWith(data, NACL_PREFIX)) return 'nacl';
  if (startsWith(data, '$ANSIBLE_VAULT')) return 'ansible-vault';
  if (startsWith(data, 'gAAAAA')) return 'fernet';
  return 'none';
}

async function naclKey(password: string): Promise<Uint8Array> {
  await sodium.ready;
  return sodium.crypto_pwhash(32, new TextEncoder().encode(password), NACL_SALT, NACL_OPSLIMIT, NACL_MEMLIMIT, sodium.crypto_pwhash_ALG_ARGON2I13);
}

/** Encrypt keyfile JSON into btwallet's `$NACL` format. */
export async function encryptKeyfileData(plaintext: Uint8Array, password: string): Promise<Uint8Array> {
  const key = await naclKey(password);
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
  const box = sodium.crypto_secretbox_easy(plaintext, nonce, key);
  const out = new Uint8Array(NACL_PREFIX.length + nonce.length + box.length);
  out.set(new TextEncoder().encode(NACL_PREFIX), 0);
  out.set(nonce, NACL_PREFIX.length);
  out.set(box, NACL_PREFIX.length + nonce.length);
  return out;
}

/** Thrown when a keyfile does not open with the password given. */
export class WrongPasswordError extends FlockError {
  override name = 'WrongPasswordError';
  constructor(path: string) {
    super(`wrong password for ${path}`, { hint: 'try again; if it is lost, regenerate the key from its mnemonic with `flock wallet regen`' });
  }
}

/** Decrypt an encrypted keyfile's bytes. `path` only names the file in errors. */
export async function decryptKeyfileData(data: Uint8Array, password: string, path = 'keyfile'): Promise<Uint8Array> {
  const kind = keyfileEncryption(data);
  if (kind === 'fernet') {
    throw new FlockError(`${path} uses the legacy Fernet encryption, which flock does not read`, {
      hint: 'regenerate the key from its mnemonic (`flock wallet regen coldkey --mnemonic …` or `btcli wallet regen-coldkey`)',
    });
  }
  if (kind === 'ansible-vault') {
    throw new FlockError(`${path} uses the legacy Ansible Vault encryption, which flock does not read`, {
      hint: 'open it once with btcli (it re-encrypts it as $NACL), or regenerate the key from its mnemonic',
    });
  }
  if (kind !== 'nacl') return data;
  const key = await naclKey(password);
  const body = data.subarray(NACL_PREFIX.length);
  if (body.length < sodium.crypto_secretbox_NONCEBYTES + sodium.crypto_secretbox_MACBYTES) {
    throw new FlockError(`${path} is truncated: too short for a $NACL keyfile`);
  }
  const nonce = body.subarray(0, sodium.crypto_secretbox_NONCEBYTES);
  try {
    return sodium.crypto_secretbox_open_easy(body.subarray(sodium.crypto_secretbox_NONCEBYTES), nonce, key);
  } catch {
    throw new WrongPasswordError(path);
  }
}

/** btwallet's environment variable for a keyfile's password: `BT_PW_` + path upper-cased, `/` and `.` → `_`. */
export function passwordEnvName(keyfilePath: string): string {
  return `BT_PW_${keyfilePath.replace(/[/.]/g, '_').toUpperCase()}`;
}

function xorWithName(data: Uint8Array, name: string): Uint8Array {
  const key = new TextEncoder().encode(name);
  return data.map((b, i) => b ^ key[i % key.length]!);
}

/** The value btwallet stores in `BT_PW_…`: base64(password XOR repeated variable name). */
export function encodeEnvPassword(envName: string, password: string): string {
  return Buffer.from(xorWithName(new TextEncoder().encode(password), envName)).toString('base64');
}

/** The password saved for a keyfile in the environment, or undefined. */
export function passwordFromEnv(keyfilePath: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = passwordEnvName(keyfilePath);
  const value = env[name];
  if (value === undefined) return undefined;
  const bytes = xorWithName(new Uint8Array(Buffer.from(value.trim(), 'base64')), name);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FlockError(`${name} does not hold a password saved by btwallet (not base64 of the XOR-ed password)`, {
      hint: `unset ${name}, or set it to encodeEnvPassword(name, password)`,
    });
  }
}

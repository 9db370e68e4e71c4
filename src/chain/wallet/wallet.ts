/**
 * A Bittensor wallet on disk: `<root>/<name>/coldkey`, `coldkeypub.txt`, `hotkeys/<hotkey>` and
 * `hotkeys/<hotkey>pub.txt` — btcli's layout, so a btcli wallet just works and ours works in btcli.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FlockError } from '../../util/errors.js';
import { readKeyfile, writeKeyfile, type PasswordSource } from './keyfile.js';
import type { WalletKeypair } from './keypair.js';

export interface WalletOptions {
  /** Wallet (coldkey) name; default `default`. */
  name?: string;
  /** Hotkey name; default `default`. */
  hotkey?: string;
  /** Wallets root; default `~/.bittensor/wallets/` (`~` expanded). */
  path?: string;
}

/** Default wallets root, as btcli's. */
export const DEFAULT_WALLETS_ROOT = '~/.bittensor/wallets/';

/** Expand a leading `~` as Bittensor does for wallet paths. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

function checkName(kind: string, name: string): string {
  if (!name || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new FlockError(`invalid ${kind} name "${name}"`, { hint: 'use a plain name without slashes' });
  }
  return name;
}

/** Where one wallet's files live. Pure paths; reading and writing go through the methods. */
export class Wallet {
  readonly name: string;
  readonly hotkeyName: string;
  readonly root: string;

  constructor(options: WalletOptions = {}) {
    this.name = checkName('wallet', options.name ?? 'default');
    this.hotkeyName = checkName('hotkey', options.hotkey ?? 'default');
    this.root = expandHome(options.path ?? DEFAULT_WALLETS_ROOT);
  }

  get dir(): string { return join(this.root, this.name); }
  get coldkeyPath(): string { return join(this.dir, 'coldkey'); }
  get coldkeypubPath(): string { return join(this.dir, 'coldkeypub.txt'); }
  hotkeyPath(hotkey = this.hotkeyName): string { return join(this.dir, 'hotkeys', checkName('hotkey', hotkey)); }
  hotkeypubPath(hotkey = this.hotkeyName): string { return `${this.hotkeyPath(hotkey)}pub.txt`; }

  /** The hotkey (normally unencrypted). Signs weights and commitments. */
  getHotkey(password?: PasswordSource): Promise<WalletKeypair> {
    return readKeyfile(this.hotkeyPath(), { password, what: `hotkey "${this.hotkeyName}" of wallet "${this.name}"` });
  }

  /** The hotkey's public half (from `…pub.txt`, else from the hotkey file). */
  async getHotkeyPub(password?: PasswordSource): Promise<WalletKeypair> {
    const pub = this.hotkeypubPath();
    if (existsSync(pub)) return readKeyfile(pub);
    const key = await this.getHotkey(password);
    return { address: key.address, publicKey: key.publicKey };
  }

  /** The coldkey's public half from `coldkeypub.txt` (no password needed). */
  getColdkeyPub(): Promise<WalletKeypair> {
    return readKeyfile(this.coldkeypubPath, { what: `coldkeypub.txt of wallet "${this.name}"` });
  }

  /** The coldkey (normally encrypted: the password source is asked). Signs registration and staking. */
  getColdkey(password?: PasswordSource): Promise<WalletKeypair> {
    return readKeyfile(this.coldkeyPath, { password, what: `coldkey of wallet "${this.name}"` });
  }

  /** Write the coldkey (encrypted when `password` is given) and its `coldkeypub.txt`. */
  async setColdkey(key: WalletKeypair, options: { password?: string; overwrite?: boolean } = {}): Promise<void> {
    await writeKeyfile(this.coldkeyPath, key, options);
    await writeKeyfile(this.coldkeypubPath, key, { publicOnly: true, overwrite: options.overwrite });
  }

  /** Write only `coldkeypub.txt` (a watch-only wallet, enough for miners and validators). */
  async setColdkeyPub(key: WalletKeypair, options: { overwrite?: boolean } = {}): Promise<void> {
    await writeKeyfile(this.coldkeypubPath, key, { publicOnly: true, overwrite: options.overwrite });
  }

  /** Write the hotkey (unencrypted unless `password` is given) and its `…pub.txt`. */
  async setHotkey(key: WalletKeypair, options: { password?: string; overwrite?: boolean } = {}): Promise<void> {
    await writeKeyfile(this.hotkeyPath(), key, options);
    await writeKeyfile(this.hotkeypubPath(), key, { publicOnly: true, overwrite: options.overwrite });
  }
}

export interface WalletSummary {
  name: string;
  /** Coldkey address from `coldkeypub.txt`, when present and readable. */
  coldkey?: string;
  hotkeys: { name: string; address?: string }[];
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/**
 * Every wallet under a root with its coldkey and hotkey addresses — public files only, no password.
 * `*pub.txt` files in `hotkeys/` are companions, not hotkeys, and are skipped.
 */
export async function listWallets(root: string = DEFAULT_WALLETS_ROOT): Promise<WalletSummary[]> {
  const dir = expandHome(root);
  if (!isDir(dir)) return [];
  const out: WalletSummary[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!isDir(join(dir, name))) continue;
    const wallet = new Wallet({ name, path: dir });
    const summary: WalletSummary = { name, hotkeys: [] };
    try { summary.coldkey = (await wallet.getColdkeyPub()).address; } catch { /* no or unreadable coldkeypub */ }
    const hotDir = join(wallet.dir, 'hotkeys');
    if (isDir(hotDir)) {
      for (const hk of readdirSync(hotDir).sort()) {
        if (hk.endsWith('pub.txt') || isDir(join(hotDir, hk))) continue;
        const entry: { name: string; address?: string } = { name: hk };
        try { entry.address = (await new Wallet({ name, hotkey: hk, path: dir }).getHotkeyPub()).address; } catch { /* encrypted or unreadable */ }
        summary.hotkeys.push(entry);
      }
    }
    out.push(summary);
  }
  return out;
}

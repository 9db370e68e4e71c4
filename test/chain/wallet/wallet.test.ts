import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { u8aToHex } from '@polkadot/util';
import {
  Wallet, encodeEnvPassword, keypairFromMnemonic, keypairFromUri, keyfileEncryptionAt, listWallets, passwordEnvName, passwordFromEnv,
} from '../../../src/chain/wallet/index.js';

const MNEMONIC = 'old leopard transfer rib spatial phone calm indicate online fire caution review';
const ADDRESS = '5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'flock-wallet-'));
}

describe('wallet layout', () => {
  it('round-trips an encrypted coldkey ($NACL, Argon2i) and lists wallets like btcli', async () => {
    const root = tmp();
    const wallet = new Wallet({ name: 'w1', hotkey: 'h1', path: root });
    const cold = await keypairFromMnemonic(MNEMONIC);
    const hot = await keypairFromUri('//Bob');
    await wallet.setColdkey(cold, { password: 'correct horse' });
    await wallet.setHotkey(hot);
    expect(keyfileEncryptionAt(wallet.coldkeyPath)).toBe('nacl');
    expect(readFileSync(wallet.coldkeyPath).subarray(0, 5).toString()).toBe('$NACL');
    expect(statSync(wallet.coldkeyPath).mode & 0o777).toBe(0o600);
    expect(statSync(wallet.coldkeypubPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(wallet.coldkeypubPath, 'utf8'))).toEqual({
      accountId: u8aToHex(cold.publicKey), publicKey: u8aToHex(cold.publicKey), ss58Address: ADDRESS,
    });
    expect((await wallet.getColdkeyPub()).address).toBe(ADDRESS);
    expect((await wallet.getHotkey()).address).toBe(hot.address);

    const env = { [passwordEnvName(wallet.coldkeyPath)]: encodeEnvPassword(passwordEnvName(wallet.coldkeyPath), 'correct horse') };
    const opened = await wallet.getColdkey((p) => passwordFromEnv(p, env)!);
    expect(opened.address).toBe(ADDRESS);
    expect(opened.mnemonic).toBe(MNEMONIC);

    await expect(wallet.setColdkey(cold, { password: 'x' })).rejects.toThrow(/refusing to overwrite/);
    await expect(wallet.getColdkey()).rejects.toThrow(/encrypted and no password/);

    // a hand-made btcli hotkey without its pub file, and a stray folder
    mkdirSync(join(root, 'w2', 'hotkeys'), { recursive: true });
    writeFileSync(join(root, 'w2', 'hotkeys', 'miner'), JSON.stringify({ secretPhrase: MNEMONIC, secretSeed: null }));
    const list = await listWallets(root);
    expect(list).toEqual([
      { name: 'w1', coldkey: ADDRESS, hotkeys: [{ name: 'h1', address: hot.address }] },
      { name: 'w2', hotkeys: [{ name: 'miner', address: ADDRESS }] },
    ]);
  }, 300_000);
});

import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { u8aToHex } from '@polkadot/util';
import { sr25519PairFromSeed, mnemonicToMiniSecret, sr25519Verify } from '@polkadot/util-crypto';
import {
  Wallet, divideScalarByCofactor, encodeEnvPassword, keypairFromMnemonic, keypairFromUri, keyfileEncryptionAt,
  listWallets, multiplyScalarByCofactor, passwordEnvName, passwordFromEnv, readKeyfile, writeKeyfile,
} from '../../../src/chain/wallet/index.js';

const MNEMONIC = 'old leopard transfer rib spatial phone calm indicate online fire caution review';
const ADDRESS = '5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'flock-wallet-'));
}

describe('keys', () => {
  it('derives btwallet\'s address from the mnemonic vector', async () => {
    const key = await keypairFromMnemonic(MNEMONIC);
    expect(key.address).toBe(ADDRESS);
    expect(key.seed).toEqual(mnemonicToMiniSecret(MNEMONIC));
  });

  it('derives the dev accounts', async () => {
    expect((await keypairFromUri('//Alice')).address).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY');
    expect((await keypairFromUri(`${MNEMONIC}//Alice`)).address).not.toBe(ADDRESS);
  });

  it('stores the canonical scalar: times 8 is the keyring\'s expanded form', async () => {
    const key = await keypairFromMnemonic(MNEMONIC);
    const expanded = sr25519PairFromSeed(mnemonicToMiniSecret(MNEMONIC)).secretKey;
    expect(multiplyScalarByCofactor(key.privateKey!.subarray(0, 32))).toEqual(expanded.subarray(0, 32));
    expect(key.privateKey!.subarray(32)).toEqual(expanded.subarray(32));
    expect(divideScalarByCofactor(expanded.subarray(0, 32))).toEqual(key.privateKey!.subarray(0, 32));
    // byte-level rule from the conventions: 0x01 → 0x08, 0xff 0x00 → 0xf8 0x07
    const s = new Uint8Array(32); s[0] = 0xff; s[1] = 0x00;
    expect(Array.from(multiplyScalarByCofactor(s).subarray(0, 2))).toEqual([0xf8, 0x07]);
  });

  it('rejects a bad mnemonic', async () => {
    await expect(keypairFromMnemonic('old leopard transfer rib spatial phone calm indicate online fire caution caution')).rejects.toThrow(/invalid mnemonic/);
  });
});

describe('keyfiles', () => {
  it('writes btcli\'s JSON with mode 0600 and reads each load path back', async () => {
    const dir = tmp();
    const key = await keypairFromMnemonic(MNEMONIC);
    const path = join(dir, 'hotkeys', 'default');
    await writeKeyfile(path, key);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    expect(Object.keys(json).sort()).toEqual(['accountId', 'privateKey', 'publicKey', 'secretPhrase', 'secretSeed', 'ss58Address']);
    expect(json.ss58Address).toBe(ADDRESS);
    expect(json.publicKey).toBe(json.accountId);
    expect(json.secretSeed).toBe(u8aToHex(mnemonicToMiniSecret(MNEMONIC)));

    // priority: secretPhrase → secretSeed → privateKey → ss58Address; nulls and missing keys tolerated
    const variants: Record<string, unknown>[] = [
      { ...json },
      { ...json, secretPhrase: null },
      { accountId: null, publicKey: json.publicKey, privateKey: json.privateKey, secretPhrase: null, secretSeed: null, ss58Address: json.ss58Address },
      { ss58Address: json.ss58Address, secretPhrase: null },
    ];
    for (const [i, v] of variants.entries()) {
      const p = join(dir, `v${i}`);
      writeFileSync(p, JSON.stringify(v));
      const loaded = await readKeyfile(p);
      expect(loaded.address).toBe(ADDRESS);
      if (i < 3) {
        const sig = loaded.pair!.sign(new Uint8Array([1, 2, 3]));
        expect(sr25519Verify(new Uint8Array([1, 2, 3]), sig, key.publicKey)).toBe(true);
      } else {
        expect(loaded.pair).toBeUndefined();
      }
    }
  });

  it('rejects a secretSeed that is not 64 hex digits and a privateKey of another key', async () => {
    const dir = tmp();
    const key = await keypairFromMnemonic(MNEMONIC);
    const alice = await keypairFromUri('//Alice');
    writeFileSync(join(dir, 'a'), JSON.stringify({ secretSeed: '0x1234' }));
    await expect(readKeyfile(join(dir, 'a'))).rejects.toThrow(/secretSeed must be 0x followed by 64 hex digits/);
    writeFileSync(join(dir, 'b'), JSON.stringify({ privateKey: u8aToHex(key.privateKey!), publicKey: u8aToHex(alice.publicKey) }));
    await expect(readKeyfile(join(dir, 'b'))).rejects.toThrow(/does not belong to its publicKey/);
  });

  it('refuses Fernet keyfiles with advice', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'coldkey'), 'gAAAAABkZ2V0dGluZyBvbGQ=');
    await expect(readKeyfile(join(dir, 'coldkey'), { password: () => 'x' })).rejects.toThrow(/legacy Fernet/);
  });

  it('computes btwallet\'s password variable and decodes its value', () => {
    const name = passwordEnvName('/home/me/.bittensor/wallets/default/coldkey');
    expect(name).toBe('BT_PW__HOME_ME__BITTENSOR_WALLETS_DEFAULT_COLDKEY');
    const value = encodeEnvPassword(name, 'hunter22');
    // XOR with the name: 'h' ^ 'B' = 0x2a …
    expect(Buffer.from(value, 'base64')[0]).toBe('h'.charCodeAt(0) ^ 'B'.charCodeAt(0));
    expect(passwordFromEnv('/home/me/.bittensor/wallets/default/coldkey', { [name]: value })).toBe('hunter22');
    expect(passwordFromEnv('/elsewhere', { [name]: value })).toBeUndefined();
  });
});

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
  }, 120_000);
});

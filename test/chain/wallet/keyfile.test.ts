import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { u8aToHex } from '@polkadot/util';
import { mnemonicToMiniSecret, sr25519Verify } from '@polkadot/util-crypto';
import { keypairFromMnemonic, keypairFromUri } from '../../../src/chain/wallet/keypair.js';
import { readKeyfile, writeKeyfile } from '../../../src/chain/wallet/keyfile.js';

const MNEMONIC = 'old leopard transfer rib spatial phone calm indicate online fire caution review';
const ADDRESS = '5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'flock-keyfile-'));
}

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

});

describe('pre-JSON keyfiles', () => {
  it('reads a bare mnemonic or hex seed, and names anything else', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'm'), `${MNEMONIC}\n`);
    expect((await readKeyfile(join(dir, 'm'))).address).toBe(ADDRESS);
    writeFileSync(join(dir, 's'), u8aToHex(mnemonicToMiniSecret(MNEMONIC)));
    expect((await readKeyfile(join(dir, 's'))).address).toBe(ADDRESS);
    writeFileSync(join(dir, 'x'), 'hello world');
    await expect(readKeyfile(join(dir, 'x'))).rejects.toThrow(/is not a keyfile \(expected JSON, a hex seed or a mnemonic\)/);
  });
});

describe('encrypted keyfiles', () => {
  it('refuses Fernet keyfiles with advice', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'coldkey'), 'gAAAAABkZ2V0dGluZyBvbGQ=');
    await expect(readKeyfile(join(dir, 'coldkey'), { password: () => 'x' })).rejects.toThrow(/legacy Fernet/);
  });

});

import { describe, expect, it } from 'vitest';
import { sr25519PairFromSeed, mnemonicToMiniSecret } from '@polkadot/util-crypto';
import { divideScalarByCofactor, keypairFromMnemonic, keypairFromUri, multiplyScalarByCofactor } from '../../../src/chain/wallet/keypair.js';

const MNEMONIC = 'old leopard transfer rib spatial phone calm indicate online fire caution review';
const ADDRESS = '5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX';

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


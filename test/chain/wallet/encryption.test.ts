import { describe, expect, it } from 'vitest';
import { decryptKeyfileData, encodeEnvPassword, keyfileEncryption, passwordEnvName, passwordFromEnv } from '../../../src/chain/wallet/encryption.js';

describe('keyfile encryption', () => {
  it('recognises each format by its prefix', () => {
    const enc = (t: string) => new TextEncoder().encode(t);
    expect(keyfileEncryption(enc('$NACL…'))).toBe('nacl');
    expect(keyfileEncryption(enc('$ANSIBLE_VAULT;1.1;AES256'))).toBe('ansible-vault');
    expect(keyfileEncryption(enc('gAAAAABk'))).toBe('fernet');
    expect(keyfileEncryption(enc('{"ss58Address":"5G"}'))).toBe('none');
  });

  it('names truncated $NACL files and legacy formats without deriving a key for them', async () => {
    await expect(decryptKeyfileData(new TextEncoder().encode('$ANSIBLE_VAULT;1.1'), 'pw', 'cold')).rejects.toThrow(/cold uses the legacy Ansible Vault/);
    await expect(decryptKeyfileData(new TextEncoder().encode('gAAAAABk'), 'pw', 'cold')).rejects.toThrow(/cold uses the legacy Fernet encryption/);
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

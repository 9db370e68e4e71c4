import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFlock } from '../helpers/cli.js';
import { encodeEnvPassword, passwordEnvName, Wallet } from '../../src/chain/wallet/index.js';

const MNEMONIC = 'old leopard transfer rib spatial phone calm indicate online fire caution review';
const ADDRESS = '5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX';

describe('flock wallet', { timeout: 120_000 }, () => {
  it('creates, lists and shows a wallet in btcli\'s layout', () => {
    const root = mkdtempSync(join(tmpdir(), 'flock-cli-wallet-'));
    const created = runFlock(['wallet', 'create', '--wallet.path', root, '--wallet.name', 'alice', '--no-use-password', '--json']);
    expect(created.code).toBe(0);
    const made = JSON.parse(created.stdout) as { created: { key: string; address: string; mnemonic: string }[] };
    expect(made.created.map((c) => c.key)).toEqual(['coldkey', 'hotkey']);
    expect(made.created[0]!.mnemonic.split(' ')).toHaveLength(12);
    expect(statSync(join(root, 'alice', 'coldkey')).mode & 0o777).toBe(0o600);

    const listed = runFlock(['wallet', 'list', '--wallet.path', root, '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).wallets).toEqual([
      { name: 'alice', coldkey: made.created[0]!.address, hotkeys: [{ name: 'default', address: made.created[1]!.address }] },
    ]);

    const shown = runFlock(['wallet', 'show', '--wallet.path', root, '--wallet.name', 'alice']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(made.created[0]!.address);
    expect(shown.stdout).toContain(made.created[1]!.address);

    const again = runFlock(['wallet', 'create', '--wallet.path', root, '--wallet.name', 'alice', '--no-use-password']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already has a coldkey and hotkey "default"');

    const missing = runFlock(['wallet', 'show', '--wallet.path', root, '--wallet.name', 'nobody']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('wallet "nobody" not found');
  });

  it('regenerates keys from a mnemonic; an encrypted coldkey takes its password from BT_PW_', () => {
    const root = mkdtempSync(join(tmpdir(), 'flock-cli-wallet-'));
    const hot = runFlock(['wallet', 'regen', 'hotkey', '--wallet.path', root, '--wallet.hotkey', 'miner', '--mnemonic', MNEMONIC]);
    expect(hot.code).toBe(0);
    expect(hot.stdout).toContain(ADDRESS);
    expect(hot.stderr).not.toContain('leopard');

    const wallet = new Wallet({ path: root });
    const envName = passwordEnvName(wallet.coldkeyPath);
    const cold = runFlock(['wallet', 'regen', 'coldkey', '--wallet.path', root, '--mnemonic', MNEMONIC], {
      env: { [envName]: encodeEnvPassword(envName, 'pässword') },
    });
    expect(cold.code).toBe(0);
    expect(readFileSync(wallet.coldkeypubPath, 'utf8')).toContain(ADDRESS);
    expect(readFileSync(wallet.coldkeyPath).subarray(0, 5).toString()).toBe('$NACL');
    // (opening it with the password is covered by test/chain/wallet/wallet.test.ts; one Argon2 run here)

    const noTty = runFlock(['wallet', 'regen', 'coldkey', '--wallet.path', root, '--wallet.name', 'x', '--mnemonic', MNEMONIC], { stdio: ['ignore', 'pipe', 'pipe'] });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('no terminal to ask for a password');
    expect(noTty.stderr).not.toContain('leopard');

    const pub = runFlock(['wallet', 'regen', 'coldkeypub', '--wallet.path', root, '--wallet.name', 'watch', '--ss58', ADDRESS]);
    expect(pub.code).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'watch', 'coldkeypub.txt'), 'utf8')).ss58Address).toBe(ADDRESS);

    const bad = runFlock(['wallet', 'regen', 'hotkey', '--wallet.path', root, '--seed', '0x12']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--seed must be 64 hex digits');
  }, 300_000);
});

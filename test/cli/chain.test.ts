/**
 * `flock chain …` against a devnet in this process. The CLI runs as a child process, spawned
 * asynchronously so the devnet here keeps answering while it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { startDevnet, type Devnet } from '../../src/chain/devnet/index.js';
import { SubtensorChain, keypairFromUri } from '../../src/chain/index.js';
import { FLOCK_BIN, REPO_ROOT, type CliResult } from '../helpers/cli.js';

function flock(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FLOCK_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('flock chain', { timeout: 120_000 }, () => {
  let dev: Devnet;
  let commitBlock: number;
  const miner = { address: '' };

  beforeAll(async () => {
    dev = await startDevnet({ port: 0, blockTimeMs: 0, tempo: 10 });
    const chain = await SubtensorChain.connect({ endpoint: dev.url });
    const bob = await keypairFromUri('//Bob');
    const hot = await keypairFromUri('//Bob//miner');
    miner.address = hot.address;
    await chain.burnedRegister({ netuid: 1, hotkey: hot.address, signer: bob });
    commitBlock = (await chain.setCommitment({ netuid: 1, data: 'bob/dataset:1:4f2c9a', signer: hot })).blockNumber;
    await chain.close();
  }, 60_000);
  afterAll(async () => { await dev?.close(); }, 60_000);

  it('prints the metagraph as a table and as JSON', async () => {
    const [table, json] = await Promise.all([
      flock(['chain', 'metagraph', '--netuid', '1', '--subtensor.chain_endpoint', dev.url]),
      flock(['chain', 'metagraph', '--netuid', '1', '--json'], { BT_SUBTENSOR_NETWORK: dev.url }),
    ]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^subnet 1 at block \d+ \(0x[0-9a-f]{64}\): 2 neurons$/);
    expect(lines[1]).toMatch(/^UID\s+HOTKEY\s+COLDKEY\s+STAKE\s+VPERMIT\s+ACTIVE\s+INCENTIVE/);
    expect(lines[4]).toContain(`${miner.address.slice(0, 6)}…${miner.address.slice(-4)}`);

    expect(json.code).toBe(0);
    const mg = JSON.parse(json.stdout);
    expect(mg.n).toBe(2);
    expect(mg.hotkeys[1]).toBe(miner.address);
    expect(mg.coldkeys[1]).toBe((await keypairFromUri('//Bob')).address);
    expect(Object.keys(mg)).toEqual(expect.arrayContaining(['uids', 'stake', 'active', 'validatorPermit', 'lastUpdate', 'blockAtRegistration', 'incentive', 'consensus', 'dividends', 'validatorTrust', 'emission']));
  });

  it('lists commitments with their blocks', async () => {
    const [table, json] = await Promise.all([
      flock(['chain', 'commitments', '--netuid', '1', '--subtensor.network', dev.url]),
      flock(['chain', 'commitments', '--netuid', '1', '--json', '--subtensor.chain_endpoint', dev.url.replace('ws://', '')]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^subnet 1 at block \d+: 1 commitment\n/);
    expect(table.stdout).toContain(`${miner.address}  ${String(commitBlock).padStart(5)}  bob/dataset:1:4f2c9a`);

    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).commitments).toEqual([
      { netuid: 1, uid: 1, hotkey: miner.address, block: commitBlock, data: 'bob/dataset:1:4f2c9a', fields: [Buffer.from('bob/dataset:1:4f2c9a').toString('hex')] },
    ]);
  });

  it('shows the subnet parameters', async () => {
    const [text, json] = await Promise.all([
      flock(['chain', 'subnet', '--netuid', '1', '--subtensor.chain_endpoint', dev.url]),
      flock(['chain', 'subnet', '--netuid', '1', '--json', '--subtensor.chain_endpoint', dev.url]),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^subnet 1\n  block +\d+\n  neurons +2 \/ 256\n  tempo +10\n/);
    expect(text.stdout).toContain('commit-reveal        off');
    expect(JSON.parse(json.stdout)).toMatchObject({ netuid: 1, tempo: 10, n: 2, weightsRateLimit: 100, ownerHotkey: (await keypairFromUri('//Alice')).address });
  });

  it('explains a missing subnet, a missing --netuid and an unreachable node', async () => {
    const [none, usage, down] = await Promise.all([
      flock(['chain', 'metagraph', '--netuid', '9', '--subtensor.chain_endpoint', dev.url]),
      flock(['chain', 'commitments', '--subtensor.chain_endpoint', dev.url]),
      flock(['chain', 'metagraph', '--netuid', '1', '--subtensor.chain_endpoint', 'ws://127.0.0.1:1']),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error: subnet 9 does not exist on this chain');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--netuid is required');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('error: cannot reach the chain at ws://127.0.0.1:1');
  });

  it('prints a commitment holding control sequences escaped, never raw (JSON keeps the exact text)', async () => {
    const chain = await SubtensorChain.connect({ endpoint: dev.url });
    const hostile = 'x\x1b[2J\x1b[H\r\n2026-01-01 00:00:00 | SUCCESS | ok\u202e\u009b\u2028"q"';
    try {
      const hot = await keypairFromUri('//Bob//hostile');
      await chain.burnedRegister({ netuid: 1, hotkey: hot.address, signer: await keypairFromUri('//Bob') });
      await chain.setCommitment({ netuid: 1, data: hostile, signer: hot });
    } finally {
      await chain.close();
    }
    const [table, json] = await Promise.all([
      flock(['chain', 'commitments', '--netuid', '1', '--subtensor.chain_endpoint', dev.url]),
      flock(['chain', 'commitments', '--netuid', '1', '--json', '--subtensor.chain_endpoint', dev.url]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028]/);
    expect(table.stdout).toContain('x\\x1b[2J\\x1b[H\\r\\n2026-01-01 00:00:00 | SUCCESS | ok\\u202e\\x9b\\u2028"q"');
    expect(json.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028]/);
    expect(JSON.parse(json.stdout).commitments.map((c: { data: string }) => c.data)).toContain(hostile);
  });
});

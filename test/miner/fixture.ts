/**
 * A small subnet for the miner and owner tests: a devnet (blocks on demand) and a local hub, the
 * owner (Alice, the devnet's subnet owner) with a wallet file, a tiny model folder, a competition
 * file and an evaluation set from the localnet task.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevnet, type Devnet } from '../../src/chain/devnet/index.js';
import { SubtensorChain, Wallet, type WalletKeypair } from '../../src/chain/index.js';
import { devKey, localKey } from '../../src/localnet/keys.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { HubClient, startHubServer, type HubServer } from '../../src/hub/index.js';
import { localnetProfile } from '../../src/localnet/localnet.js';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { FLOCK_BIN, REPO_ROOT } from '../helpers/cli.js';

export const NETUID = 1;
export const OWNER_TOKEN = 'hf_test_owner';
export const MINER_TOKEN = 'hf_test_miners';

export interface Fixture {
  root: string;
  dev: Devnet;
  hub: HubServer;
  chain: SubtensorChain;
  owner: WalletKeypair;
  ownerHub: HubClient;
  minerHub: HubClient;
  walletsDir: string;
  modelDir: string;
  competitionFile: string;
  evalFile: string;
  /** `--subtensor.chain_endpoint … --hub-url … --wallet.path …` for CLI runs. */
  cliArgs: string[];
  register(name: string): Promise<{ key: WalletKeypair; uid: number }>;
  close(): Promise<void>;
}

export async function startFixture(opts: { tempo?: number } = {}): Promise<Fixture> {
  const root = mkdtempSync(join(tmpdir(), 'flock-miner-owner-'));
  const dev = await startDevnet({ port: 0, blockTimeMs: 0, tempo: opts.tempo ?? 360 });
  const hub = await startHubServer({ dir: join(root, 'hub'), port: 0, tokens: [{ name: 'flock', token: OWNER_TOKEN }, { name: 'miners', token: MINER_TOKEN }] });
  const chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 20_000 });
  const owner = await devKey('Alice');
  const walletsDir = join(root, 'wallets');
  await new Wallet({ name: 'owner', hotkey: 'default', path: walletsDir }).setHotkey(owner);
  const modelDir = join(root, 'model');
  writePresetCheckpoint(modelDir, 'tiny', { seed: 3 });
  const competitionFile = join(root, 'competition.json');
  writeFileSync(competitionFile, JSON.stringify(localnetProfile(true).competition));
  const evalFile = join(root, 'eval.jsonl');
  writeFileSync(evalFile, toJsonl(taskRows(12, 1)));
  const funder = await devKey('Bob');
  return {
    root, dev, hub, chain, owner, walletsDir, modelDir, competitionFile, evalFile,
    ownerHub: new HubClient({ hubUrl: hub.url, token: OWNER_TOKEN, cacheDir: join(root, 'cache-owner'), retries: 0 }),
    minerHub: new HubClient({ hubUrl: hub.url, token: MINER_TOKEN, cacheDir: join(root, 'cache-miner'), retries: 0 }),
    cliArgs: ['--netuid', String(NETUID), '--subtensor.chain_endpoint', dev.url, '--hub-url', hub.url, '--wallet.path', walletsDir],
    async register(name) {
      const key = await localKey(`test-${name}`);
      await new Wallet({ name, hotkey: 'default', path: walletsDir }).setHotkey(key);
      const r = await chain.burnedRegister({ netuid: NETUID, hotkey: key.address, signer: funder });
      return { key, uid: r.uid };
    },
    async close() {
      await chain.close().catch(() => undefined);
      await hub.close().catch(() => undefined);
      await dev.close().catch(() => undefined);
    },
  };
}

/** Run the built CLI without blocking this process (the devnet and hub run in it). */
export function runFlockAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [FLOCK_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

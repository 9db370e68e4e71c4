/**
 * A whole local subnet for the validator tests: a devnet node (blocks on demand), a local hub with
 * the tiny base model, a competition (tiny recipe, small limits) published by the owner (Alice,
 * uid 0, also the validator), and helpers to register miners, publish datasets and commit them.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevnet, type Devnet } from '../../src/chain/devnet/index.js';
import { SubtensorChain, Wallet, keypairFromSeed, keypairFromUri, type WalletKeypair } from '../../src/chain/index.js';
import { HubClient, startHubServer, type HubServer } from '../../src/hub/index.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { formatCompetitionPointer, type CompetitionInput } from '../../src/protocol/index.js';
import { readdirSync, readFileSync } from 'node:fs';

export const NETUID = 1;
const OWNER_TOKEN = 'hf_owner_token_for_tests';
const MINER_TOKEN = 'hf_miner_token_for_tests';

/** A chat row as a dataset line. */
export interface Row { system?: string | null; conversations: { role: 'user' | 'assistant'; content: string }[] }

/** Small deterministic generator (LCG). */
export class Lcg {
  private s: number;
  constructor(seed: number) { this.s = (seed * 2654435761) >>> 0 || 1; }
  int(n: number): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s % n;
  }
}

/**
 * Rows of the competition's task: the assistant repeats the user's words, upper-cased. Four random
 * words per row, so rows of different seeds are not near-duplicates of each other.
 */
export function taskRows(n: number, seed: number): Row[] {
  const r = new Lcg(seed);
  const word = () => Array.from({ length: 4 + r.int(3) }, () => String.fromCharCode(97 + r.int(12))).join('');
  return Array.from({ length: n }, () => {
    const words = [word(), word(), word(), word()];
    return { conversations: [{ role: 'user', content: `say ${words.join(' ')}` }, { role: 'assistant', content: words.join(' ').toUpperCase() }] };
  });
}

/** Rows of noise (does not help the task). */
export function noiseRows(n: number, seed: number): Row[] {
  const r = new Lcg(seed);
  const junk = (k: number) => Array.from({ length: k }, () => String.fromCharCode(33 + r.int(90))).join('');
  return Array.from({ length: n }, () => ({ conversations: [{ role: 'user', content: junk(10) }, { role: 'assistant', content: junk(12) }] }));
}

export const toJsonl = (rows: Row[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The competition every test uses: a tiny recipe that trains in well under a second per dataset. */
export function tinyCompetition(baseModelRevision: string, over: Partial<CompetitionInput> = {}): CompetitionInput {
  return {
    protocol: 1, id: '1', title: 'validator tests',
    baseModel: { repo: 'flock/tiny-llama', revision: baseModelRevision },
    recipe: {
      epochs: 1, gradientAccumulation: 2, warmupSteps: 2, maxSeqLen: 96,
      optimizer: { lr: 1e-2 }, lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
    },
    limits: { maxRows: 200, maxBytes: 64 * 1024, maxTokensPerRow: 512 },
    ...over,
  };
}

export interface Miner { name: string; hotkey: WalletKeypair; uid: number }

export interface TestSubnet {
  root: string;
  dev: Devnet;
  hub: HubServer;
  /** Publishing clients (write tokens). */
  ownerHub: HubClient;
  minerHub: HubClient;
  /** A chain client for the test itself (owner actions, registrations, commitments). */
  chain: SubtensorChain;
  owner: WalletKeypair;
  competitionRevision: string;
  /** Wallets folder holding the validator's wallet `validator`/`default` (Alice's key). */
  walletsDir: string;
  register(name: string): Promise<Miner>;
  /** Create `miners/<name>` with data.jsonl = `content`; returns the commit SHA. */
  publish(name: string, content: string): Promise<string>;
  commit(miner: Miner, data: string): Promise<number>;
  /**
   * A validator other than the owner, as on a real subnet: a fresh hotkey (its seed in the wallet
   * file `validator`/`default`, replacing Alice's), registered, staked, and given a validator
   * permit by the next epoch.
   */
  addValidator(): Promise<WalletKeypair>;
  /** A validator HubClient with its own cache. */
  validatorHub(cacheDir?: string): HubClient;
  restartHub(): Promise<void>;
  close(): Promise<void>;
}

export interface SubnetOptions {
  tempo?: number;
  weightsRateLimit?: number;
  maxAllowedUids?: number;
  immunityPeriod?: number;
  evalRows?: Row[];
  competition?: Partial<CompetitionInput>;
  /** Keep the devnet state on disk (for restarts). */
  persistentChain?: boolean;
  blockTimeMs?: number;
  commitReveal?: boolean;
}

/** A local hub in `root/hub` with the owner's (`flock`) and the miners' (`miners`) tokens, and their publishing clients. */
export async function startTestHub(root: string, port = 0): Promise<{ hub: HubServer; ownerHub: HubClient; minerHub: HubClient }> {
  const hub = await startHubServer({ dir: join(root, 'hub'), port, tokens: [{ name: 'flock', token: OWNER_TOKEN }, { name: 'miners', token: MINER_TOKEN }] });
  const ownerHub = new HubClient({ hubUrl: hub.url, token: OWNER_TOKEN, cacheDir: join(root, 'owner-cache'), retries: 0 });
  const minerHub = new HubClient({ hubUrl: hub.url, token: MINER_TOKEN, cacheDir: join(root, 'miner-cache'), retries: 0 });
  return { hub, ownerHub, minerHub };
}

/**
 * Publish the tiny base model to `flock/tiny-llama` and the competition (competition.json +
 * eval.jsonl) to `flock/competition-1`; returns the competition revision.
 */
export async function publishTestCompetition(ownerHub: HubClient, root: string, o: Pick<SubnetOptions, 'competition' | 'evalRows'> = {}): Promise<string> {
  // base model
  const modelDir = join(root, 'model');
  writePresetCheckpoint(modelDir, 'tiny', { seed: 11 });
  await ownerHub.createRepo({ repo: 'flock/tiny-llama', type: 'model' });
  const modelRev = await ownerHub.uploadFiles({
    repo: 'flock/tiny-llama', type: 'model',
    files: readdirSync(modelDir).map((f) => ({ path: f, content: readFileSync(join(modelDir, f)) })),
  });
  // competition
  await ownerHub.createRepo({ repo: 'flock/competition-1', type: 'dataset' });
  const competition = tinyCompetition(modelRev, o.competition);
  return ownerHub.uploadFiles({
    repo: 'flock/competition-1', type: 'dataset',
    files: [
      { path: 'competition.json', content: JSON.stringify(competition, null, 2) },
      { path: 'eval.jsonl', content: toJsonl(o.evalRows ?? taskRows(12, 1)) },
    ],
  });
}

/** Create the dataset repo `miners/<name>` (if new) with data.jsonl = `content`; returns the commit SHA. */
export async function publishDataset(minerHub: HubClient, name: string, content: string): Promise<string> {
  await minerHub.createRepo({ repo: `miners/${name}`, type: 'dataset', existOk: true });
  return minerHub.uploadFiles({ repo: `miners/${name}`, type: 'dataset', files: [{ path: 'data.jsonl', content }] });
}

/** Start devnet + hub, publish model and competition, point the owner's commitment at it. */
export async function startSubnet(o: SubnetOptions = {}): Promise<TestSubnet> {
  const root = mkdtempSync(join(tmpdir(), 'flock-validator-'));
  const dev = await startDevnet({
    port: 0, blockTimeMs: o.blockTimeMs ?? 0, tempo: o.tempo ?? 50, weightsRateLimit: o.weightsRateLimit ?? 2,
    immunityPeriod: o.immunityPeriod ?? 5000, maxAllowedUids: o.maxAllowedUids ?? 64, commitReveal: o.commitReveal ?? false,
    ...(o.persistentChain ? { dir: join(root, 'chain') } : {}),
  });
  const started = await startTestHub(root);
  let hub = started.hub;
  const { ownerHub, minerHub } = started;
  const hubPort = hub.port;
  const competitionRevision = await publishTestCompetition(ownerHub, root, o);

  const chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 20_000 });
  const owner = await keypairFromUri('//Alice');
  await chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: competitionRevision }), signer: owner });

  const walletsDir = join(root, 'wallets');
  mkdirSync(walletsDir, { recursive: true });
  await new Wallet({ name: 'validator', hotkey: 'default', path: walletsDir }).setHotkey(owner);

  const coldkey = await keypairFromUri('//Bob');
  const subnet: TestSubnet = {
    root, dev, hub, ownerHub, minerHub, chain, owner, competitionRevision, walletsDir,
    async register(name) {
      const hotkey = await keypairFromUri(`//Bob//${name}`);
      const r = await chain.burnedRegister({ netuid: NETUID, hotkey: hotkey.address, signer: coldkey });
      return { name, hotkey, uid: r.uid };
    },
    async publish(name, content) {
      return publishDataset(minerHub, name, content);
    },
    async commit(miner, data) {
      await dev.produceBlocks(1); // a commitment strictly after the registration block
      return (await chain.setCommitment({ netuid: NETUID, data, signer: miner.hotkey })).blockNumber;
    },
    async addValidator() {
      const key = await keypairFromSeed(new Uint8Array(32).fill(7));
      await chain.burnedRegister({ netuid: NETUID, hotkey: key.address, signer: coldkey });
      await chain.addStake({ netuid: NETUID, hotkey: key.address, amount: 1000, signer: coldkey });
      const info = await chain.subnetInfo({ netuid: NETUID });
      await dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
      await new Wallet({ name: 'validator', hotkey: 'default', path: walletsDir }).setHotkey(key, { overwrite: true });
      return key;
    },
    validatorHub(cacheDir = join(root, 'validator-cache')) {
      return new HubClient({ hubUrl: subnet.hub.url, cacheDir, retries: 0, timeoutMs: 5000 });
    },
    async restartHub() {
      hub = (await startTestHub(root, hubPort)).hub;
      subnet.hub = hub;
    },
    async close() {
      await chain.close().catch(() => undefined);
      await subnet.hub.close().catch(() => undefined);
      await subnet.dev.close().catch(() => undefined);
    },
  };
  return subnet;
}

/**
 * An in-memory chain and hub for the dashboard's unit tests: a metagraph and commitments the test
 * sets, results repos whose head moves when the test publishes, and switches that make either one
 * stop answering as a node or a hub that went away does.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chain, Commitment, Metagraph, SubnetInfo } from '../../src/chain/chain.js';
import { ChainConnectionError } from '../../src/chain/subtensor/errors.js';
import { EntryNotFoundError, HubUnavailableError, RepoNotFoundError } from '../../src/hub/errors.js';
import type { RepoCommit } from '../../src/hub/client/hub-client.js';
import type { HubClient } from '../../src/hub/index.js';

export interface Neuron { hotkey: string; stake?: number; incentive?: number; emission?: number; validatorTrust?: number; permit?: boolean }

export class FakeChain {
  block = 100;
  down = false;
  neurons: Neuron[] = [];
  commitments = new Map<string, string>();
  owner = '';
  private watchers = new Set<(n: number) => void>();
  readonly endpoint = 'fake://chain';
  get connected() { return !this.down; }

  private check() {
    if (this.down) throw new ChainConnectionError('fake://chain', 'connection refused');
  }
  async metagraph(p: { netuid: number }): Promise<Metagraph> {
    this.check();
    const n = this.neurons.length;
    const col = <T>(f: (x: Neuron) => T) => this.neurons.map(f);
    return {
      netuid: p.netuid, block: { number: this.block, hash: '0x00' }, n, uids: this.neurons.map((_, i) => i), hotkeys: col((x) => x.hotkey),
      coldkeys: col(() => '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM'), stake: col((x) => x.stake ?? 0), alphaStake: col((x) => x.stake ?? 0), taoStake: col(() => 0),
      active: col(() => true), validatorPermit: col((x) => x.permit ?? false), lastUpdate: col(() => 0), blockAtRegistration: col(() => 1),
      incentive: col((x) => x.incentive ?? 0), consensus: col(() => 0), dividends: col(() => 0), validatorTrust: col((x) => x.validatorTrust ?? 0), emission: col((x) => x.emission ?? 0),
    };
  }
  async subnetInfo(p: { netuid: number }): Promise<SubnetInfo> {
    this.check();
    return {
      netuid: p.netuid, tempo: 100, lastEpochBlock: 0, nextEpochBlock: 101, n: this.neurons.length, maxAllowedUids: 256, weightsRateLimit: 1, weightsVersionKey: 0,
      minAllowedWeights: 0, maxWeightLimit: 1, commitRevealEnabled: false, revealPeriodEpochs: 1, ownerHotkey: this.owner, ownerColdkey: this.owner, burn: 1,
    };
  }
  async getAllCommitments(p: { netuid: number }): Promise<Commitment[]> {
    this.check();
    return [...this.commitments].map(([hotkey, data]) => ({ netuid: p.netuid, hotkey, block: 10, data, fields: [new TextEncoder().encode(data)] }));
  }
  async watchBlocks(p: { onBlock: (n: number) => void }): Promise<() => Promise<void>> {
    this.watchers.add(p.onBlock);
    return async () => { this.watchers.delete(p.onBlock); };
  }
  /** A new block: watchers hear of it. */
  newBlock(): void {
    this.block++;
    for (const w of this.watchers) w(this.block);
  }
  asChain(): Chain {
    return this as unknown as Chain;
  }
}

export class FakeHub {
  readonly hubUrl = 'http://hub.invalid';
  down = false;
  /** repo → revisions (oldest first), each with its files. */
  repos = new Map<string, { revision: string; files: Map<string, string> }[]>();
  requests = { resolve: 0, download: 0, list: 0 };
  private readonly dir = mkdtempSync(join(tmpdir(), 'flock-dashboard-hub-'));
  private counter = 0;

  /** Commit `files` to `repo`; returns the new revision. */
  commit(repo: string, files: Record<string, string>): string {
    const revision = (++this.counter).toString(16).padStart(40, '0');
    const list = this.repos.get(repo) ?? [];
    list.push({ revision, files: new Map(Object.entries(files)) });
    this.repos.set(repo, list);
    return revision;
  }
  async resolveRevision(p: { repo: string; revision?: string }): Promise<string> {
    this.requests.resolve++;
    if (this.down) throw new HubUnavailableError('the hub at http://hub.invalid does not answer');
    const list = this.repos.get(p.repo);
    if (!list?.length) throw new RepoNotFoundError(`repository ${p.repo} not found`);
    if (!p.revision || p.revision === 'main') return list[list.length - 1]!.revision;
    if (!list.some((r) => r.revision === p.revision)) throw new RepoNotFoundError(`revision ${p.revision} not found`);
    return p.revision;
  }
  async downloadFile(p: { repo: string; revision?: string; path: string }): Promise<string> {
    this.requests.download++;
    if (this.down) throw new HubUnavailableError('the hub at http://hub.invalid does not answer');
    const rev = await this.resolveRevision({ repo: p.repo, revision: p.revision });
    const content = this.repos.get(p.repo)!.find((r) => r.revision === rev)!.files.get(p.path);
    if (content === undefined) throw new EntryNotFoundError(`${p.path} not found`);
    const file = join(this.dir, `${++this.counter}`);
    writeFileSync(file, content);
    return file;
  }
  /** The repo's commits from its head, newest first (at most `limit`). */
  async listCommits(p: { repo: string; limit?: number }): Promise<RepoCommit[]> {
    this.requests.list++;
    if (this.down) throw new HubUnavailableError('the hub at http://hub.invalid does not answer');
    const list = this.repos.get(p.repo);
    if (!list?.length) throw new RepoNotFoundError(`repository ${p.repo} not found`);
    return [...list].reverse().slice(0, p.limit ?? 100).map((r, i) => ({ sha: r.revision, title: `commit ${list.length - i}`, message: '', date: new Date(Date.UTC(2026, 0, 1) + (list.length - i) * 60_000).toISOString(), authors: ['v'] }));
  }
  asHub(): HubClient {
    return this as unknown as HubClient;
  }
}

/**
 * Devnet benchmark: a subnet with 256 registered neurons and 64 validators (each weighting every
 * uid), 256 commitments. Prints the epoch time, a full metagraph read and a read of all 256
 * commitments through @polkadot/api. Run: `npx tsx bench/devnet.ts`
 */
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { performance } from 'node:perf_hooks';
import { startDevnet } from '../src/chain/devnet/index.js';
import { isEpochBlock } from '../src/chain/devnet/epoch.js';

const NETUID = 1;
const TEMPO = 30;
const NEURONS = 256;
const VALIDATORS = 64;
const REPEATS = 5;

const devnet = await startDevnet({ port: 0, blockTimeMs: 0, sealOnSubmit: false, tempo: TEMPO, weightsRateLimit: 0 });
const api = await ApiPromise.create({ provider: new WsProvider(devnet.url), noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const coldkeys = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map((n) => keyring.addFromUri(`//${n}`));
const alice = coldkeys[0]!;
// uid 0 is the owner (//Alice); hotkeys //hk1 … //hk255 take uids 1 … 255, the first 64 validate.
const hotkeys = [alice, ...Array.from({ length: NEURONS - 1 }, (_, i) => keyring.addFromUri(`//hk${i + 1}`))];
const nonces = new Map<string, number>();

async function submitAll(txs: Array<[SubmittableExtrinsic<'promise'>, KeyringPair]>): Promise<void> {
  for (const [tx, signer] of txs) {
    const nonce = nonces.get(signer.address) ?? (await api.rpc.system.accountNextIndex(signer.address)).toNumber();
    nonces.set(signer.address, nonce + 1);
    await tx.signAsync(signer, { nonce });
    await api.rpc.author.submitExtrinsic(tx);
  }
  await devnet.produceBlocks(1);
}

async function failures(): Promise<number> {
  const events = (await api.query.system!.events!()).toJSON() as Array<{ event: { index: string } }>;
  return events.filter((e) => e.event.index === '0x0001').length; // System.ExtrinsicFailed
}

const t0 = performance.now();
await submitAll(hotkeys.slice(1).map((hk, i) => [api.tx.subtensorModule!.burnedRegister!(NETUID, hk.address), coldkeys[i % coldkeys.length]!]));
const coldkeyOf = (uid: number) => coldkeys[(uid - 1) % coldkeys.length]!;
await submitAll(hotkeys.slice(1, VALIDATORS).map((hk, i) => [api.tx.subtensorModule!.addStake!(hk.address, NETUID, BigInt(1000 + i) * 1_000_000_000n), coldkeyOf(i + 1)]));
if (await failures()) throw new Error('set-up transactions failed');
// an epoch hands out validator permits by stake
while (!isEpochBlock(devnet.bestNumber(), NETUID, TEMPO)) await devnet.produceBlocks(1);
const uids = [...Array(NEURONS).keys()];
await submitAll(hotkeys.slice(0, VALIDATORS).map((hk, v) => [
  api.tx.subtensorModule!.setWeights!(NETUID, uids, uids.map((u) => 1 + ((u * 7919 + v * 104729) % 1000)), 0), hk]));
const failedWeights = await failures();
await submitAll(hotkeys.map((hk, i) => {
  const text = `miner${i}/dataset-${i}:1:${'0123456789abcdef'.repeat(3).slice(0, 40)}`;
  return [api.tx.commitments!.setCommitment!(NETUID, { fields: [{ [`Raw${text.length}`]: text }] }), hk];
}));
const failedCommits = await failures();
const setupS = (performance.now() - t0) / 1000;

// Epoch time: the epoch block against the ordinary block before it (both with no transactions).
// CPU time beside wall time: the shared machines these figures come from are often loaded.
const ordinary: number[] = [];
const epoch: number[] = [];
const epochCpu: number[] = [];
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let r = 0; r < 3; r++) {
  while (!isEpochBlock(devnet.bestNumber() + 2, NETUID, TEMPO)) devnet.chain.produceBlock();
  let t = performance.now(); devnet.chain.produceBlock(); ordinary.push(performance.now() - t);
  const c = cpuMs();
  t = performance.now(); devnet.chain.produceBlock(); epoch.push(performance.now() - t);
  epochCpu.push(cpuMs() - c);
}
const n = (await api.query.subtensorModule!.subnetworkN!(NETUID)).toJSON();
const permits = ((await api.query.subtensorModule!.validatorPermit!(NETUID)).toJSON() as boolean[]).filter(Boolean).length;
const bondRows = (await api.query.subtensorModule!.bonds!.entries(NETUID)).length;

/** Every §5 storage item a client reads for a metagraph. */
async function readMetagraph(): Promise<number> {
  const sm = api.query.subtensorModule!;
  const [count, keys, vectors, regs, weights, bonds, params] = await Promise.all([
    sm.subnetworkN!(NETUID),
    sm.keys!.entries(NETUID),
    Promise.all(['active', 'validatorPermit', 'consensus', 'dividends', 'validatorTrust', 'stakeWeight', 'incentive', 'lastUpdate', 'emission'].map((i) => sm[i]!(NETUID))),
    sm.blockAtRegistration!.entries(NETUID),
    sm.weights!.entries(NETUID),
    sm.bonds!.entries(NETUID),
    Promise.all(['tempo', 'subnetOwner', 'subnetOwnerHotkey', 'kappa', 'maxAllowedUids', 'maxAllowedValidators', 'minAllowedWeights', 'weightsVersionKey', 'weightsSetRateLimit', 'commitRevealWeightsEnabled', 'burn', 'blocksSinceLastStep', 'lastMechansimStepBlock'].map((i) => sm[i]!(NETUID))),
  ]);
  const hks = keys.map(([, v]) => v.toString());
  const [owners, alpha, axons] = await Promise.all([
    sm.owner!.multi(hks),
    sm.totalHotkeyAlpha!.multi(hks.map((hk) => [hk, NETUID])),
    sm.axons!.multi(hks.map((hk) => [NETUID, hk])),
  ]);
  void [count, vectors, regs, weights, bonds, params, axons];
  return owners.length + alpha.length;
}

const time = async (fn: () => Promise<unknown>) => {
  const out: number[] = [];
  for (let r = 0; r < REPEATS; r++) { const t = performance.now(); await fn(); out.push(performance.now() - t); }
  return out.sort((a, b) => a - b)[Math.floor(out.length / 2)]!;
};
const metagraphMs = await time(readMetagraph);
let commitCount = 0;
const commitmentsMs = await time(async () => { commitCount = (await api.query.commitments!.commitmentOf!.entries(NETUID)).length; });

const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`devnet benchmark: ${n} neurons, ${permits} validator permits, ${bondRows} bond rows, ${commitCount} commitments (set-up ${setupS.toFixed(1)} s; failed weights ${failedWeights}, failed commitments ${failedCommits})`);
console.log(`epoch block: ${med(epoch).toFixed(1)} ms wall, ${med(epochCpu).toFixed(1)} ms CPU, median of ${epoch.length} (ordinary block ${med(ordinary).toFixed(1)} ms) → epoch ≈ ${(med(epoch) - med(ordinary)).toFixed(1)} ms`);
console.log(`full metagraph read (@polkadot/api, §5 items incl. ${VALIDATORS}×${NEURONS} weights and bonds): ${metagraphMs.toFixed(1)} ms median of ${REPEATS}`);
console.log(`all ${commitCount} commitments read (commitmentOf.entries): ${commitmentsMs.toFixed(1)} ms median of ${REPEATS}`);
await api.disconnect();
await devnet.close();

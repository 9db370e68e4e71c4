/**
 * The subtensor client's reads at subnet scale: a devnet (in this process) with 256 registered
 * neurons, each with a commitment; then, through SubtensorChain over WebSocket, a full metagraph
 * read, all 256 commitments, one commitment, and the subnet info — median of repeated runs.
 * Run: `npx tsx bench/chain-client.ts [repeats=5]`
 */
import { startDevnet } from '../src/chain/devnet/index.js';
import { SubtensorChain, keypairFromUri, type WalletKeypair } from '../src/chain/index.js';

const NEURONS = 256;
const repeats = Number(process.argv[2] ?? 5);

async function median(label: string, fn: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(34)} median ${times[Math.floor(times.length / 2)]!.toFixed(1).padStart(8)} ms   (min ${times[0]!.toFixed(1)}, max ${times[times.length - 1]!.toFixed(1)}, n=${repeats})`);
}

const dev = await startDevnet({ port: 0, blockTimeMs: 0, tempo: 360, maxAllowedUids: NEURONS });
const chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 60_000 });
const setupStart = performance.now();
const coldkeys = await Promise.all(['//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map(keypairFromUri));
const hotkeys: WalletKeypair[] = [];
for (let i = 1; i < NEURONS; i++) hotkeys.push(await keypairFromUri(`//bench//hot${i}`));
// Each coldkey registers its share in sequence (one nonce chain each); the coldkeys run side by side.
await Promise.all(coldkeys.map(async (cold, c) => {
  for (let i = c; i < hotkeys.length; i += coldkeys.length) await chain.burnedRegister({ netuid: 1, hotkey: hotkeys[i]!.address, signer: cold });
}));
const alice = await keypairFromUri('//Alice');
const all = [alice, ...hotkeys];
for (let i = 0; i < all.length; i += 32) {
  await Promise.all(all.slice(i, i + 32).map((k, j) => chain.setCommitment({ netuid: 1, data: `miner${i + j}/dataset:1:${'4f2c'.repeat(10)}`, signer: k })));
}
console.log(`set-up: ${NEURONS} neurons registered and committed in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (block ${dev.bestNumber()})`);

const mg = await chain.metagraph({ netuid: 1 });
const commitments = await chain.getAllCommitments({ netuid: 1 });
if (mg.n !== NEURONS || commitments.length !== NEURONS) throw new Error(`expected ${NEURONS} neurons and commitments, got ${mg.n} and ${commitments.length}`);

await median(`metagraph (${NEURONS} neurons)`, () => chain.metagraph({ netuid: 1 }));
await median(`getAllCommitments (${NEURONS})`, () => chain.getAllCommitments({ netuid: 1 }));
await median('getCommitment (one hotkey)', () => chain.getCommitment({ netuid: 1, hotkey: hotkeys[100]!.address }));
await median('subnetInfo', () => chain.subnetInfo({ netuid: 1 }));
await median('currentBlock', () => chain.currentBlock());

await chain.close();
await dev.close();

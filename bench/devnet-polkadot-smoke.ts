/**
 * An unmodified @polkadot/api client against the devnet: connect (the node serves the finney
 * metadata), read SubtensorModule.Tempo, submit a signed Commitments.set_commitment from a
 * registered hotkey and read it back. Run: `npx tsx bench/devnet-polkadot-smoke.ts`
 * (or point it at a running node: `npx tsx bench/devnet-polkadot-smoke.ts ws://127.0.0.1:9944`).
 */
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { startDevnet } from '../src/chain/devnet/index.js';

const external = process.argv[2];
const devnet = external ? undefined : await startDevnet({ port: 0, blockTimeMs: 0, tempo: 10 });
const url = external ?? devnet!.url;
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const alice = keyring.addFromUri('//Alice'); // owns netuid 1; its hotkey is uid 0, so it may commit

console.log(`connected to ${url}: chain "${(await api.rpc.system.chain()).toString()}", spec ${api.runtimeVersion.specName.toString()}/${api.runtimeVersion.specVersion.toNumber()}`);
console.log(`SubtensorModule.Tempo(1) = ${(await api.query.subtensorModule.tempo(1)).toString()}`);

const text = 'alice/my-dataset:1:4f2c0a1e9b8d7c6f5e4d3c2b1a0f9e8d7c6b5a49';
const tx = api.tx.commitments.setCommitment(1, { fields: [{ [`Raw${Buffer.byteLength(text)}`]: text }] });
const block = await new Promise<string>((resolve, reject) => {
  tx.signAndSend(alice, ({ status, dispatchError }) => {
    if (dispatchError) reject(new Error(dispatchError.toString()));
    else if (status.isInBlock) resolve(status.asInBlock.toHex());
    else if (status.isFinalized) resolve(status.asFinalized.toHex());
  }).catch(reject);
});
console.log(`set_commitment in block ${block}`);

const stored = await api.query.commitments.commitmentOf(1, alice.address);
const json = stored.toHuman() as { block: string; info: { fields: Array<Record<string, string>> } };
console.log(`CommitmentOf(1, ${alice.address}) = ${JSON.stringify(json)}`);
const back = Object.values(json.info.fields[0]!)[0];
console.log(back === text ? 'read back: OK' : `read back: MISMATCH (${back})`);
await api.disconnect();
await devnet?.close();
if (back !== text) process.exit(1);

/**
 * The JSON-RPC surface through an unmodified @polkadot/api client (finney metadata served by the
 * node), plus raw WebSocket requests for the error cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactFromU8a, hexToU8a } from '@polkadot/util';
import type { KeyringPair } from '@polkadot/keyring/types';
import { blockNumber, freeBalance, query, rawRequest, send, startHarness, type Harness } from './helpers.js';

let h: Harness;
let alice: KeyringPair, bob: KeyringPair;

beforeAll(async () => {
  h = await startHarness({ tempo: 10 });
  alice = h.keyring.addFromUri('//Alice');
  bob = h.keyring.addFromUri('//Bob');
});
afterAll(async () => { await h?.close(); });

describe('devnet JSON-RPC with @polkadot/api', () => {
  it('serves the finney runtime: spec name, metadata, SubtensorModule.Tempo', async () => {
    expect(h.api.runtimeVersion.specName.toString()).toBe('node-subtensor');
    expect(h.api.tx.commitments?.setCommitment).toBeTypeOf('function');
    expect(await query(h.api, 'subtensorModule', 'tempo', 1)).toBe(10);
    expect(await query(h.api, 'subtensorModule', 'subnetOwnerHotkey', 1)).toBe(alice.address);
    expect(h.api.genesisHash.toHex()).toBe(await h.api.rpc.chain.getBlockHash(0).then((x) => x.toHex()));
  });

  it('takes a signed Commitments.set_commitment and reads it back with its block', async () => {
    const text = 'alice/my-dataset:1:4f2c0a1e9b8d7c6f5e4d3c2b1a0f9e8d7c6b5a49';
    const tx = h.api.tx.commitments!.setCommitment!(1, { fields: [{ [`Raw${text.length}`]: text }] });
    const out = await send(h.api, tx, alice);
    expect(out.error).toBeUndefined();
    expect(out.events).toEqual(['commitments.Commitment', 'system.ExtrinsicSuccess']);
    const stored = await h.api.query.commitments!.commitmentOf!(1, alice.address);
    const json = stored.toHuman() as { block: string; info: { fields: Array<Record<string, string>> } };
    expect(json.info.fields[0]).toEqual({ [`Raw${text.length}`]: text });
    expect(Number(json.block)).toBe(await blockNumber(h.api, out.blockHash));
    // entries() pages keys with state_getKeysPaged
    const all = await h.api.query.commitments!.commitmentOf!.entries(1);
    expect(all.map(([k]) => k.args[1]!.toString())).toEqual([alice.address]);
  });

  it('refuses a commitment from a hotkey not registered on the subnet', async () => {
    const out = await send(h.api, h.api.tx.commitments!.setCommitment!(1, { fields: [{ Raw2: 'hi' }] }), bob);
    expect(out.error).toBe('commitments.AccountNotAllowedCommit');
  });

  it('routes Balances.transfer_keep_alive with a MultiAddress destination', async () => {
    const dave = h.keyring.addFromUri('//Dave');
    const before = await freeBalance(h.api, dave.address);
    const out = await send(h.api, h.api.tx.balances!.transferKeepAlive!(dave.address, 5_000_000_000n), bob);
    expect(out.error).toBeUndefined();
    expect(out.events).toContain('balances.Transfer');
    expect(await freeBalance(h.api, dave.address)).toBe(before + 5_000_000_000n);
  });

  it('refuses a transaction whose signature does not verify', async () => {
    const tx = h.api.tx.system!.remark!('0x01');
    await tx.signAsync(bob);
    const bytes = tx.toU8a();
    const [offset] = compactFromU8a(bytes);
    // body: version 0x84, MultiAddress::Id (0x00 + 32 bytes), MultiSignature::Sr25519 (0x01 + 64 bytes)
    bytes[offset + 1 + 33 + 1 + 10]! ^= 0xff;
    await expect(h.api.rpc.author.submitExtrinsic(bytes)).rejects.toThrow(/1010: Invalid Transaction: Transaction has a bad signature/);
  });

  it('refuses a reused nonce as outdated', async () => {
    await send(h.api, h.api.tx.system!.remark!('0x02'), bob);
    const stale = h.api.tx.system!.remark!('0x03');
    await stale.signAsync(bob, { nonce: 0 });
    await expect(h.api.rpc.author.submitExtrinsic(stale)).rejects.toThrow(/Transaction is outdated/);
  });

  it('answers AccountNonceApi_account_nonce in SCALE (little-endian), as the nonce @polkadot/api signs with', async () => {
    const expected = (await h.api.rpc.system.accountNextIndex(bob.address)).toNumber();
    expect(expected).toBeGreaterThan(0); // bob has sent transactions above
    const who = h.api.createType('AccountId32', bob.address).toHex();
    const reply = await rawRequest(h.devnet.url, 'state_call', ['AccountNonceApi_account_nonce', who]);
    expect(h.api.createType('u32', hexToU8a(reply.result as string)).toNumber()).toBe(expected); // bytes: SCALE decoding
  });

  it('quotes a zero fee (TransactionPaymentApi through state_call)', async () => {
    const info = await h.api.tx.system!.remark!('0x01').paymentInfo(bob);
    expect(info.partialFee.toString()).toBe('0');
    expect(info.class.toString()).toBe('Normal');
  });

  it('reads storage at an older block hash', async () => {
    const genesis = (await h.api.rpc.chain.getBlockHash(0)).toHex();
    const atGenesis = await (await h.api.at(genesis)).query.system!.account!(bob.address);
    const now = await h.api.query.system!.account!(bob.address);
    expect((atGenesis.toJSON() as { nonce: number }).nonce).toBe(0);
    expect((now.toJSON() as { nonce: number }).nonce).toBeGreaterThan(0);
  });

  it('pushes new heads and storage changes to subscribers', async () => {
    const before = h.devnet.bestNumber();
    const heads: number[] = [];
    const nonces: number[] = [];
    let done: () => void = () => {};
    const seen = new Promise<void>((resolve) => { done = resolve; });
    const check = () => { if (heads.includes(before + 3) && nonces.length >= 2) done(); };
    const unsubHeads = await h.api.rpc.chain.subscribeNewHeads((header) => { heads.push(header.number.toNumber()); check(); });
    const unsubNonce = (await h.api.query.system!.account!(bob.address, (acc: { toJSON(): unknown }) => {
      nonces.push((acc.toJSON() as { nonce: number }).nonce);
      check();
    })) as unknown as () => void;
    await send(h.api, h.api.tx.system!.remark!('0x04'), bob);
    await h.devnet.produceBlocks(2);
    await seen;
    unsubHeads();
    unsubNonce();
    expect(heads).toEqual(expect.arrayContaining([before + 1, before + 2, before + 3]));
    expect(nonces[nonces.length - 1]).toBe(nonces[0]! + 1);
  });

  it('answers plain HTTP POST requests on the same port (no subscriptions there)', async () => {
    const httpUrl = h.devnet.url.replace(/^ws/, 'http');
    const post = async (body: unknown) => (await fetch(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;
    expect((await post({ jsonrpc: '2.0', id: 7, method: 'system_chain', params: [] })).result).toBe('FLock Devnet');
    const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'chain_getBlockHash', params: [0] }, { jsonrpc: '2.0', id: 2, method: 'chain_subscribeNewHeads', params: [] }]);
    expect(batch[0].result).toBe(h.api.genesisHash.toHex());
    expect(batch[1].error.message).toMatch(/not available over HTTP/);
  });

  it('answers unknown methods with JSON-RPC "Method not found"', async () => {
    const res = await rawRequest(h.devnet.url, 'foo_bar');
    expect(res.error?.code).toBe(-32601);
    expect(res.error?.message).toMatch(/Method not found: foo_bar/);
    const methods = (await rawRequest(h.devnet.url, 'rpc_methods')).result as { methods: string[] };
    expect(methods.methods).toContain('author_submitAndWatchExtrinsic');
    expect(methods.methods).toContain('state_getKeysPaged');
  });
});

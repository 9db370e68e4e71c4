import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signResults, verifyResults } from '../../src/chain/results-signature.js';
import type { KeyringPair } from '@polkadot/keyring/types';
import { sampleDocument } from '../protocol/results-fixture.js';

let alice: KeyringPair;
let bob: KeyringPair;
beforeAll(async () => {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  alice = keyring.addFromUri('//Alice');
  bob = keyring.addFromUri('//Bob');
});

describe('results signatures (sr25519 over the canonical JSON)', () => {
  it('a document signed by its validator verifies, also after a JSON round trip with keys reordered', async () => {
    const signed = await signResults(sampleDocument({ validator: alice.address }), alice);
    expect(signed.signature).toMatch(/^0x[0-9a-f]{128}$/);
    expect(await verifyResults(signed, alice.address)).toEqual({ ok: true });
    const reordered = JSON.parse(JSON.stringify({ signature: signed.signature, document: Object.fromEntries(Object.entries(signed.document).reverse()) }));
    expect(await verifyResults(reordered, alice.address)).toEqual({ ok: true });
  });
  it('an altered loss, weight or reason fails', async () => {
    const signed = await signResults(sampleDocument({ validator: alice.address }), alice);
    const altered = structuredClone(signed);
    altered.document.uids[0]!.evalLoss = 4.4;
    expect(await verifyResults(altered, alice.address)).toMatchObject({ ok: false, reason: expect.stringContaining('altered after signing') });
    const weight = structuredClone(signed);
    weight.document.uids[1]!.weight = 0.5;
    expect((await verifyResults(weight, alice.address)).ok).toBe(false);
  });
  it('a document claiming another signer than the hotkey that points to it fails; so does a signature by another key', async () => {
    const signed = await signResults(sampleDocument({ validator: alice.address }), alice);
    expect(await verifyResults(signed, bob.address)).toMatchObject({ ok: false, reason: expect.stringContaining(`the one ${bob.address} points to`) });
    // Bob signs a document that says it is Alice's
    const forged = { document: signed.document, signature: `0x${Buffer.from(bob.sign(new TextEncoder().encode('x'))).toString('hex')}` };
    expect((await verifyResults(forged, alice.address)).ok).toBe(false);
  });
  it('refuses to sign a document naming another validator', async () => {
    await expect(signResults(sampleDocument({ validator: bob.address }), alice)).rejects.toThrow(/names validator/);
  });
});

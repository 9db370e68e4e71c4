import { describe, expect, it } from 'vitest';
import type { PublishedResults } from '../../src/published/read.js';
import { verdictsFor } from '../../src/published/verdicts.js';
import { sampleDocument } from '../protocol/results-fixture.js';

const doc = sampleDocument();
const [good, zeroed] = doc.uids;
const ok = (validator: string, uid: number): PublishedResults => ({
  ok: true, hotkey: validator, uid, repoId: `v/${validator}`, revision: 'f'.repeat(40), pointerBlock: 3, signed: { document: doc, signature: `0x${'00'.repeat(64)}` },
});

describe('verdictsFor', () => {
  it('gives each validator\'s loss, win rate, weight and reason for the hotkey, and the unreadable ones with why', () => {
    const results: PublishedResults[] = [
      ok('val-a', 0),
      { ok: false, hotkey: 'val-b', uid: 1, repoId: 'v/b', revision: null, pointerBlock: 4, reason: 'the signature does not match' },
    ];
    const v = verdictsFor(good!.hotkey, results);
    expect(v[0]).toMatchObject({ ok: true, validator: 'val-a', uid: good!.uid, evalLoss: 4.5, baseLoss: 6.5, winRate: 1, weight: 0.6, stage: null, reason: null, round: 3, block: 120 });
    expect(v[1]).toEqual({ ok: false, validator: 'val-b', validatorUid: 1, reason: 'the signature does not match' });
    expect(verdictsFor(zeroed!.hotkey, results)[0]).toMatchObject({ ok: true, weight: 0, evalLoss: null, stage: 'commitment', reason: zeroed!.reason });
  });
  it('says so when the hotkey is not in a validator\'s round', () => {
    expect(verdictsFor('5Unknown', [ok('val-a', 0)])[0]).toMatchObject({ ok: true, uid: null, weight: 0, reason: expect.stringContaining('not in the round') });
  });
});

import { describe, expect, it } from 'vitest';
import { sampleDocument } from './results-fixture.js';
import {
  RESULTS_FORMAT, canonicalJson, formatResultsPointer, formatSignedResults, fromWireNumber, parseResultsPointer, parseSignedResults,
  resultsSigningBytes, toWireNumber, type ResultsDocument,
} from '../../src/protocol/results.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
  it('is the same text for the same value however it was built, and reads back to it', () => {
    const doc = sampleDocument();
    const shuffled = JSON.parse(JSON.stringify(doc, Object.keys(doc).reverse())) as ResultsDocument;
    const rebuilt = Object.fromEntries(Object.entries(doc).reverse()) as unknown as ResultsDocument;
    expect(canonicalJson(rebuilt)).toBe(canonicalJson(doc));
    expect(JSON.parse(canonicalJson(doc))).toEqual(doc);
    expect(shuffled.format).toBe(RESULTS_FORMAT);
  });
  it('writes floats with the shortest round-trip text, and refuses what JSON cannot hold', () => {
    expect(canonicalJson([0.1, 1 / 3, 1e21, -0, 5e-324])).toBe('[0.1,0.3333333333333333,1e+21,0,5e-324]');
    expect(() => canonicalJson(NaN)).toThrow(/NaN/);
    expect(() => canonicalJson([Infinity])).toThrow(/Infinity/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });
  it('signing bytes change with any field', () => {
    const a = resultsSigningBytes(sampleDocument());
    const b = resultsSigningBytes(sampleDocument({ block: 121 }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe('wire numbers', () => {
  it('carry NaN and the infinities as names and read back bit for bit', () => {
    for (const x of [1.5, -0.25, NaN, Infinity, -Infinity]) expect(Object.is(fromWireNumber(toWireNumber(x)), x)).toBe(true);
    expect(toWireNumber(NaN)).toBe('NaN');
  });
});

describe('parseSignedResults', () => {
  const signature = `0x${'ab'.repeat(64)}`;
  const file = (doc: unknown, sig: unknown = signature) => JSON.stringify({ document: doc, signature: sig });

  it('reads back what formatSignedResults wrote', () => {
    const signed = { document: sampleDocument(), signature };
    const r = parseSignedResults(formatSignedResults(signed));
    expect(r).toEqual({ ok: true, value: signed });
  });
  it('refuses a file too large, unread', () => {
    const r = parseSignedResults(file(sampleDocument()), { maxBytes: 100 });
    expect(r).toMatchObject({ ok: false, code: 'too_large' });
  });
  it('refuses text that is not JSON, a format it does not know, and a malformed document, with where', () => {
    expect(parseSignedResults('{"document": ')).toMatchObject({ ok: false, code: 'bad_json' });
    expect(parseSignedResults(file({ ...sampleDocument(), format: 'flock-results/9' }))).toMatchObject({
      ok: false, code: 'unknown_format', reason: expect.stringContaining('"flock-results/9"'),
    });
    expect(parseSignedResults(file({ ...sampleDocument(), uids: [{ ...sampleDocument().uids[0], weight: 'heavy' }] }))).toMatchObject({
      ok: false, code: 'bad_document', reason: expect.stringContaining('uids.0.weight'),
    });
    expect(parseSignedResults(file({ ...sampleDocument(), uids: [{ ...sampleDocument().uids[0], reason: 'x'.repeat(5000) }] }))).toMatchObject({ ok: false, code: 'bad_document' });
    expect(parseSignedResults('[]')).toMatchObject({ ok: false, code: 'bad_document' });
  });
  it('refuses a signature of the wrong shape', () => {
    expect(parseSignedResults(file(sampleDocument(), 'abc'))).toMatchObject({ ok: false, code: 'bad_signature_format' });
    expect(parseSignedResults(file(sampleDocument(), null))).toMatchObject({ ok: false, code: 'bad_signature_format' });
  });
});

describe('results pointer', () => {
  it('formats and parses {"results":"owner/name"}', () => {
    const text = formatResultsPointer({ repoId: 'validator-7/flock-results' });
    expect(text).toBe('{"results":"validator-7/flock-results"}');
    expect(parseResultsPointer(text)).toEqual({ ok: true, value: { repoId: 'validator-7/flock-results' } });
  });
  it('tells a miner commitment or other JSON apart, and refuses a bad repo id', () => {
    expect(parseResultsPointer(`miners/good:1:${'c'.repeat(40)}`)).toMatchObject({ ok: false, code: 'not_results' });
    expect(parseResultsPointer('{"results":"a/b","x":1}')).toMatchObject({ ok: false, code: 'not_results' });
    expect(parseResultsPointer('{"results":"no-slash"}')).toMatchObject({ ok: false, code: 'bad_repo_id' });
    expect(() => formatResultsPointer({ repoId: `a/${'b'.repeat(200)}` })).toThrow();
  });
});

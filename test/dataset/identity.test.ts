import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { datasetIdentity, RowHashList } from '../../src/dataset/identity.js';
import { rowHash } from '../../src/dataset/canonical.js';
import { FlockError } from '../../src/util/errors.js';
import { makeRows, shuffled } from './synthetic.js';

describe('dataset identity', () => {
  const hashes = makeRows(3, 50, 200).map(rowHash);

  it('is SHA-256 over the sorted raw row hashes', () => {
    const expected = createHash('sha256').update(Buffer.concat([...hashes].sort().map((h) => Buffer.from(h, 'hex')))).digest('hex');
    expect(datasetIdentity(hashes)).toBe(expected);
  });

  it('does not depend on row order, but does on duplicates and content', () => {
    expect(datasetIdentity(shuffled(hashes))).toBe(datasetIdentity(hashes));
    expect(datasetIdentity([...hashes, hashes[0]!])).not.toBe(datasetIdentity(hashes));
    expect(datasetIdentity(hashes.slice(1))).not.toBe(datasetIdentity(hashes));
  });

  it('agrees with RowHashList, which also finds exact duplicate groups in file order', () => {
    const list = new RowHashList();
    const order = [hashes[0]!, hashes[1]!, hashes[0]!, hashes[2]!, hashes[1]!, hashes[0]!];
    for (const h of order) list.push(Buffer.from(h, 'hex'));
    expect(list.identity()).toBe(datasetIdentity(order));
    expect(list.duplicateGroups()).toEqual([[0, 2, 5], [1, 4]]);
  });

  it('rejects something that is not a row hash with a FlockError', () => {
    expect(() => datasetIdentity(['xyz'])).toThrow(FlockError);
  });
});

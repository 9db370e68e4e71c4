import { describe, expect, it } from 'vitest';
import { TypeRegistry, Metadata } from '@polkadot/types';
import { readFileSync } from 'node:fs';
import { u8aToHex } from '@polkadot/util';
import { commitmentInfo, fieldBytes, utf8 } from '../../../src/chain/subtensor/commitment-data.js';

const registry = new TypeRegistry();
registry.setMetadata(new Metadata(registry, new Uint8Array(readFileSync(new URL('../../../src/chain/devnet/finney-metadata.scale', import.meta.url)))));

describe('commitment fields', () => {
  it('encodes one RawN field with N = UTF-8 bytes, as the finney metadata types it', () => {
    const info = registry.createType('PalletCommitmentsCommitmentInfo', commitmentInfo('hello'));
    expect(u8aToHex(info.toU8a())).toBe('0x040668656c6c6f');
    const accented = registry.createType('PalletCommitmentsCommitmentInfo', commitmentInfo('é'));
    expect(u8aToHex(accented.toU8a())).toBe('0x0403c3a9');
    const decoded = registry.createType('PalletCommitmentsCommitmentInfo', accented.toU8a()) as unknown as { fields: { type: string; value: { toU8a(b?: boolean): Uint8Array } }[] };
    expect(utf8(fieldBytes(decoded.fields[0]!))).toBe('é');
  });

  it('refuses more than 128 bytes', () => {
    expect(() => commitmentInfo('x'.repeat(129))).toThrow(/129 bytes; the chain stores at most 128/);
    expect(() => commitmentInfo('é'.repeat(65))).toThrow(/130 bytes/);
  });
});

import { describe, expect, it } from 'vitest';
import { endpointOf, redactEndpoint, resolveEndpoint } from '../../../src/chain/subtensor/network.js';

describe('network resolution', () => {
  it('maps names and URLs', () => {
    expect(endpointOf('finney')).toBe('wss://entrypoint-finney.opentensor.ai:443');
    expect(endpointOf('test')).toBe('wss://test.finney.opentensor.ai:443');
    expect(endpointOf('archive')).toBe('wss://archive.chain.opentensor.ai:443');
    expect(endpointOf('local')).toBe('ws://127.0.0.1:9944');
    expect(endpointOf('wss://node.example:443')).toBe('wss://node.example:443');
    expect(endpointOf('127.0.0.1:9945')).toBe('ws://127.0.0.1:9945');
    expect(() => endpointOf('mainnet')).toThrow(/unknown network "mainnet"/);
  });

  it('follows btcli precedence: explicit endpoint > explicit network > environment > finney', () => {
    expect(resolveEndpoint({})).toBe('wss://entrypoint-finney.opentensor.ai:443');
    expect(resolveEndpoint({ network: 'finney', networkSource: 'default' })).toBe('wss://entrypoint-finney.opentensor.ai:443');
    expect(resolveEndpoint({ network: 'test', networkSource: 'env' })).toBe('wss://test.finney.opentensor.ai:443');
    expect(resolveEndpoint({ network: 'local', networkSource: 'cli', chainEndpoint: 'ws://a:1', chainEndpointSource: 'env' })).toBe('ws://127.0.0.1:9944');
    expect(resolveEndpoint({ network: 'local', networkSource: 'cli', chainEndpoint: 'ws://a:1', chainEndpointSource: 'cli' })).toBe('ws://a:1');
    expect(resolveEndpoint({ network: 'finney', networkSource: 'default', chainEndpoint: 'b:2', chainEndpointSource: 'env' })).toBe('ws://b:2');
    expect(resolveEndpoint({ network: 'ws://c:3', networkSource: 'cli' })).toBe('ws://c:3');
  });

  it('strips credentials', () => {
    expect(redactEndpoint('wss://user:secret@node.example/ws')).toBe('wss://node.example/ws');
  });
});

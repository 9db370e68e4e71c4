/**
 * Network names and endpoints, as btcli resolves them: `finney`, `test`, `archive`, `local`, or a
 * URL in either flag (a URL without a scheme gets `ws://`). Precedence: explicit
 * `--subtensor.chain_endpoint` > explicit `--subtensor.network` > environment > `finney`.
 */
import { UsageError } from '../../util/errors.js';

/** Known networks and their endpoints. */
export const NETWORKS = {
  finney: 'wss://entrypoint-finney.opentensor.ai:443',
  test: 'wss://test.finney.opentensor.ai:443',
  archive: 'wss://archive.chain.opentensor.ai:443',
  local: 'ws://127.0.0.1:9944',
} as const;

export type NetworkName = keyof typeof NETWORKS;

/** Seconds per block on finney (and test): what estimates of wall time assume. */
export const BLOCK_SECONDS = 12;

/** Genesis hashes of the public networks (to name what a client is connected to). */
export const GENESIS_HASHES: Record<string, NetworkName> = {
  '0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03': 'finney',
  '0x8f9cf856bf558a14440e75569c9e58594757048d7b3a84b5d25f6bd978263105': 'test',
};

/** Where a flag's value came from (commander's value sources). */
export type ValueSource = 'cli' | 'env' | 'config' | 'default' | undefined;

export interface ResolveEndpointParameters {
  network?: string;
  chainEndpoint?: string;
  networkSource?: ValueSource;
  chainEndpointSource?: ValueSource;
}

/** A network name or URL → a ws(s) URL. */
export function endpointOf(value: string): string {
  const v = value.trim();
  if (v in NETWORKS) return NETWORKS[v as NetworkName];
  if (/^wss?:\/\//i.test(v)) return v;
  if (/^https?:\/\//i.test(v)) return v.replace(/^http/i, 'ws');
  if (/^[a-z]+:\/\//i.test(v)) throw new UsageError(`unsupported endpoint scheme in "${v}"`, { hint: 'use ws:// or wss://' });
  if (/^[\w.-]+(:\d+)?(\/.*)?$/.test(v) && (v.includes('.') || v.includes(':') || v === 'localhost')) return `ws://${v}`;
  throw new UsageError(`unknown network "${v}"`, { hint: `use one of ${Object.keys(NETWORKS).join(', ')} or a ws(s):// URL` });
}

/**
 * The endpoint to connect to, by btcli's precedence.
 * @example resolveEndpoint({ network: 'local' }) // 'ws://127.0.0.1:9944'
 */
export function resolveEndpoint(p: ResolveEndpointParameters): string {
  const explicit = (s: ValueSource) => s === 'cli' || s === 'config';
  if (p.chainEndpoint && explicit(p.chainEndpointSource)) return endpointOf(p.chainEndpoint);
  if (p.network && explicit(p.networkSource)) return endpointOf(p.network);
  if (p.chainEndpoint) return endpointOf(p.chainEndpoint);
  if (p.network) return endpointOf(p.network);
  return NETWORKS.finney;
}

/** A URL with any user:password@ stripped, for messages and logs. */
export function redactEndpoint(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

import type { StorageKey } from '@polkadot/types';
import type { Codec } from '@polkadot/types/types';
import { encodeAddress } from '@polkadot/util-crypto';
import type { Metagraph } from '../../chain.js';
import { SS58_FORMAT } from '../../wallet/keypair.js';
import { big, bools, num, nums, request, storage, type SubtensorClient } from '../client.js';
import { SubnetNotFoundError, type ChainRequestErrorType } from '../errors.js';
import { getCurrentBlock } from './getCurrentBlock.js';

export interface GetMetagraphParameters {
  netuid: number;
}
export type GetMetagraphReturnType = Metagraph;
export type GetMetagraphErrorType = SubnetNotFoundError | ChainRequestErrorType;

const RAO = 1e9;
const U64_MAX = 2n ** 64n - 1n;

function address(c: Codec): string {
  return encodeAddress(c.toU8a(), SS58_FORMAT);
}

function pad<T>(values: T[], n: number, fill: T): T[] {
  return Array.from({ length: n }, (_, i) => (i < values.length ? values[i]! : fill));
}

/**
 * The whole metagraph of a subnet at the current block, read from storage (`Keys`, `Owner`,
 * `BlockAtRegistration`, the per-subnet vectors, `TotalHotkeyAlpha`, `TaoWeight`) — no runtime
 * APIs, so it works against finney and the devnet alike. All reads use the same block hash.
 * RPC: chain_getHeader, state_getKeysPaged, state_queryStorageAt.
 * @example const mg = await getMetagraph(client, { netuid: 1 }); mg.hotkeys[mg.uids[0]]
 */
export async function getMetagraph(client: SubtensorClient, p: GetMetagraphParameters): Promise<GetMetagraphReturnType> {
  const block = await getCurrentBlock(client);
  return request(client, `reading the metagraph of subnet ${p.netuid}`, async () => {
    const at = await client.api.at(block.hash);
    const sm = (item: string) => storage(at, 'subtensorModule', item);
    const [added, nCodec, keyEntries, regEntries, active, permit, consensus, dividends, vtrust, incentive, lastUpdate, emission, taoWeight] = await Promise.all([
      sm('networksAdded')(p.netuid), sm('subnetworkN')(p.netuid),
      sm('keys').entries(p.netuid), sm('blockAtRegistration').entries(p.netuid),
      sm('active')(p.netuid), sm('validatorPermit')(p.netuid), sm('consensus')(p.netuid), sm('dividends')(p.netuid),
      sm('validatorTrust')(p.netuid), sm('incentive')(p.netuid), sm('lastUpdate')(p.netuid), sm('emission')(p.netuid),
      sm('taoWeight')(),
    ]);
    if (added.toString() !== 'true') throw new SubnetNotFoundError(p.netuid);
    const n = num(nCodec);
    const hotkeys: string[] = new Array<string>(n).fill('');
    for (const [key, value] of keyEntries as [StorageKey, Codec][]) {
      const uid = num(key.args[1]!);
      if (uid < n) hotkeys[uid] = address(value);
    }
    const blockAtRegistration: number[] = new Array<number>(n).fill(0);
    for (const [key, value] of regEntries as [StorageKey, Codec][]) {
      const uid = num(key.args[1]!);
      if (uid < n) blockAtRegistration[uid] = num(value);
    }
    const [owners, alpha, root] = n === 0 ? [[], [], []] : await Promise.all([
      sm('owner').multi(hotkeys),
      sm('totalHotkeyAlpha').multi(hotkeys.map((h) => [h, p.netuid])),
      sm('totalHotkeyAlpha').multi(hotkeys.map((h) => [h, 0])),
    ]);
    const tw = Number(big(taoWeight)) / Number(U64_MAX);
    const alphaStake = alpha.map((c) => num(c) / RAO);
    const taoStake = root.map((c) => num(c) / RAO);
    const u16f = (c: Codec) => pad(nums(c), n, 0).map((x) => x / 65535);
    return {
      netuid: p.netuid,
      block,
      n,
      uids: Array.from({ length: n }, (_, i) => i),
      hotkeys,
      coldkeys: owners.map(address),
      stake: alphaStake.map((a, i) => a + taoStake[i]! * tw),
      alphaStake,
      taoStake,
      active: pad(bools(active), n, false),
      validatorPermit: pad(bools(permit), n, false),
      lastUpdate: pad(nums(lastUpdate), n, 0),
      blockAtRegistration,
      incentive: u16f(incentive),
      consensus: u16f(consensus),
      dividends: u16f(dividends),
      validatorTrust: u16f(vtrust),
      emission: pad(nums(emission), n, 0).map((x) => x / RAO),
    };
  });
}

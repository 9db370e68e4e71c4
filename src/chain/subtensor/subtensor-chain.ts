/**
 * `SubtensorChain`: the `Chain` interface over a subtensor node (finney, test, or the devnet),
 * binding the actions in ./actions to one client.
 */
import type { Chain, PendingReveal, SetWeightsParams, Signer } from '../chain.js';
import { closeClient, createSubtensorClient, type CreateSubtensorClientParameters, type SubtensorClient } from './client.js';
import { addStake } from './actions/addStake.js';
import { burnedRegister } from './actions/burnedRegister.js';
import { commitWeights } from './actions/commitWeights.js';
import { getAllCommitments } from './actions/getAllCommitments.js';
import { getCommitment } from './actions/getCommitment.js';
import { getCurrentBlock } from './actions/getCurrentBlock.js';
import { getMetagraph } from './actions/getMetagraph.js';
import { getSubnetInfo } from './actions/getSubnetInfo.js';
import { getUid } from './actions/getUid.js';
import { revealWeights } from './actions/revealWeights.js';
import { setCommitment } from './actions/setCommitment.js';
import { setWeights } from './actions/setWeights.js';
import { watchBlocks } from './actions/watchBlocks.js';

export class SubtensorChain implements Chain {
  private constructor(readonly client: SubtensorClient) {}

  /**
   * Connect to a node.
   * @example const chain = await SubtensorChain.connect({ endpoint: resolveEndpoint({ network: 'local' }) })
   */
  static async connect(p: CreateSubtensorClientParameters): Promise<SubtensorChain> {
    return new SubtensorChain(await createSubtensorClient(p));
  }

  get endpoint(): string { return this.client.endpoint; }
  get connected(): boolean { return !this.client.closed && this.client.provider.isConnected; }
  currentBlock() { return getCurrentBlock(this.client); }
  watchBlocks(p: { onBlock: (number: number) => void }) { return watchBlocks(this.client, p); }
  subnetInfo(p: { netuid: number }) { return getSubnetInfo(this.client, p); }
  metagraph(p: { netuid: number }) { return getMetagraph(this.client, p); }
  uidOf(p: { netuid: number; hotkey: string }) { return getUid(this.client, p); }
  getCommitment(p: { netuid: number; hotkey: string }) { return getCommitment(this.client, p); }
  getAllCommitments(p: { netuid: number }) { return getAllCommitments(this.client, p); }
  setCommitment(p: { netuid: number; data: string; signer: Signer }) { return setCommitment(this.client, p); }
  setWeights(p: SetWeightsParams) { return setWeights(this.client, p); }
  commitWeights(p: SetWeightsParams & { salt?: number[] }) { return commitWeights(this.client, p); }
  revealWeights(p: { pending: PendingReveal; signer: Signer }) { return revealWeights(this.client, p); }
  burnedRegister(p: { netuid: number; hotkey: string; signer: Signer }) { return burnedRegister(this.client, p); }
  addStake(p: { netuid: number; hotkey: string; amount: number; signer: Signer }) { return addStake(this.client, p); }
  close() { return closeClient(this.client); }
}

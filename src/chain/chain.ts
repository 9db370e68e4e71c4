/**
 * What the rest of FLockDataset needs from a chain — the miner, the owner and the validator talk
 * to this interface, never to `@polkadot/api` directly. `SubtensorChain` (src/chain/subtensor)
 * implements it against finney, testnet, or the local devnet; the same code talks to all three.
 *
 * Units: balances and stakes are in TAO/alpha as numbers (rao / 1e9); u16 proportions are floats
 * in [0, 1] (x / 65535), as the Python SDK's metagraph shows them.
 */
import type { KeyringPair } from '@polkadot/keyring/types';

/** Who signs an extrinsic: a keyring pair, or a wallet key that holds one. */
export type Signer = KeyringPair | { address: string; pair?: KeyringPair };

/** A block: its number and hash. */
export interface BlockRef {
  number: number;
  hash: string;
}

/** A subnet's parameters that miners and validators act on. */
export interface SubnetInfo {
  netuid: number;
  /** Blocks between epochs. */
  tempo: number;
  /** Block of the last epoch. */
  lastEpochBlock: number;
  /**
   * Block at which the next epoch is due: `lastEpochBlock + tempo` where the chain stores
   * LastEpochBlock; under the older schedule (no such storage) epochs are tempo + 1 blocks apart.
   */
  nextEpochBlock: number;
  /** Registered neurons. */
  n: number;
  maxAllowedUids: number;
  /** Blocks a hotkey must wait between two weight settings. */
  weightsRateLimit: number;
  /** Minimum `version_key` the subnet accepts with weights (0: any). */
  weightsVersionKey: number;
  minAllowedWeights: number;
  /** Largest allowed weight as a fraction (MaxWeightsLimit / 65535). */
  maxWeightLimit: number;
  commitRevealEnabled: boolean;
  /** Epochs after a weight commit before its reveal is accepted. */
  revealPeriodEpochs: number;
  /** The subnet owner's hotkey (its commitment is the competition pointer). */
  ownerHotkey: string;
  ownerColdkey: string;
  /** Registration cost in TAO. */
  burn: number;
}

/** The metagraph in columns indexed by uid, as the Python SDK holds it. */
export interface Metagraph {
  netuid: number;
  block: BlockRef;
  n: number;
  uids: number[];
  hotkeys: string[];
  coldkeys: string[];
  /** Stake weight: alpha stake + TAO (root) stake × TaoWeight. */
  stake: number[];
  alphaStake: number[];
  taoStake: number[];
  active: boolean[];
  validatorPermit: boolean[];
  lastUpdate: number[];
  blockAtRegistration: number[];
  incentive: number[];
  consensus: number[];
  dividends: number[];
  validatorTrust: number[];
  /** Emission per epoch in alpha (rao / 1e9). */
  emission: number[];
}

/** A hotkey's commitment on a subnet. */
export interface Commitment {
  netuid: number;
  hotkey: string;
  /** The block of the latest `set_commitment`: the submission time. */
  block: number;
  /** The first field as UTF-8 (what the SDK and FLock miners read). */
  data: string;
  /** Every field's raw bytes. */
  fields: Uint8Array[];
}

/** The outcome of an extrinsic that made it into a block. */
export interface TxResult {
  blockHash: string;
  blockNumber: number;
  txHash: string;
}

export interface SetWeightsParams {
  netuid: number;
  uids: number[];
  /** Non-negative weights (any scale); normalised and converted to u16 as the SDK does. */
  weights: number[];
  /** The validator's spec version; must be ≥ the subnet's WeightsVersionKey. */
  versionKey: number;
  signer: Signer;
  /** Apply `process_weights_for_netuid` (min allowed weights, max weight limit) first (default true). */
  process?: boolean;
  /** Refuse locally when the rate limit has not passed yet (default true). */
  checkRateLimit?: boolean;
}

export interface SetWeightsResult extends TxResult {
  /** The u16 uids and weights that were sent. */
  uids: number[];
  weights: number[];
}

/** What a validator keeps between `commitWeights` and `revealWeights`. */
export interface PendingReveal {
  netuid: number;
  hotkey: string;
  uids: number[];
  values: number[];
  salt: number[];
  versionKey: number;
  commitHash: string;
  commitBlock: number;
}

/**
 * Every method takes one parameter object (as the actions in src/chain/subtensor/actions do) and
 * fails with the typed errors of src/chain/subtensor/errors.ts; each action's `…ErrorType` names them.
 */
export interface Chain {
  /** The endpoint in use (credentials stripped). */
  readonly endpoint: string;
  /** False while the connection to the node is down (it reconnects by itself). */
  readonly connected: boolean;
  currentBlock(): Promise<BlockRef>;
  /** Follow new best blocks (the current one first) until the returned function is called. */
  watchBlocks(params: { onBlock: (number: number) => void }): Promise<() => Promise<void>>;
  subnetInfo(params: { netuid: number }): Promise<SubnetInfo>;
  metagraph(params: { netuid: number }): Promise<Metagraph>;
  /** The uid of a hotkey on a subnet, or undefined when not registered. */
  uidOf(params: { netuid: number; hotkey: string }): Promise<number | undefined>;
  getCommitment(params: { netuid: number; hotkey: string }): Promise<Commitment | undefined>;
  getAllCommitments(params: { netuid: number }): Promise<Commitment[]>;
  /** Store `data` (UTF-8, ≤ 128 bytes) as the signer hotkey's commitment. */
  setCommitment(params: { netuid: number; data: string; signer: Signer }): Promise<TxResult>;
  setWeights(params: SetWeightsParams): Promise<SetWeightsResult>;
  /** Commit/reveal v2, for subnets with CommitRevealWeightsEnabled. */
  commitWeights(params: SetWeightsParams): Promise<PendingReveal & TxResult>;
  revealWeights(params: { pending: PendingReveal; signer: Signer }): Promise<TxResult>;
  /** Register `hotkey` on a subnet by burning TAO from the signing coldkey. Returns the new uid. */
  burnedRegister(params: { netuid: number; hotkey: string; signer: Signer }): Promise<TxResult & { uid: number }>;
  /** Stake `amount` TAO from the signing coldkey to `hotkey` on a subnet. */
  addStake(params: { netuid: number; hotkey: string; amount: number; signer: Signer }): Promise<TxResult>;
  close(): Promise<void>;
}

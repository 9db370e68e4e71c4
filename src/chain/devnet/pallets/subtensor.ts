/**
 * SubtensorModule on the devnet: subnets, `burned_register`, `add_stake`, `set_weights` with every
 * check subtensor makes, in its order (docs/devnet.md, "Calls"), and commit/reveal v2. Storage is laid out as on finney (§5).
 */
import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import type { State } from '../state.js';
import { fail, type RuntimeContext } from '../runtime.js';
import { withdraw } from './balances.js';

const SM = 'subtensorModule';

/** An account as SS58 text or its raw 32 bytes (the epoch passes bytes: no SS58 round trips). */
export type AccountLike = string | Uint8Array;
const ERR = 'SubtensorModule';

/** Per-neuron vectors pushed on registration and reset on replacement. */
const NEURON_VECTORS: Array<[string, unknown]> = [
  ['active', true], ['emission', 0], ['consensus', 0], ['incentive', 0], ['dividends', 0],
  ['validatorTrust', 0], ['validatorPermit', false], ['stakeWeight', 0],
];

export interface SubnetParams {
  netuid: number;
  ownerColdkey: string;
  ownerHotkey: string;
  tempo: number;
  commitReveal: boolean;
  weightsRateLimit: number;
  burn: bigint;
  maxAllowedUids: number;
  immunityPeriod: number;
  activityCutoff: number;
}

/** Create a subnet with new-subnet defaults; its owner hotkey becomes uid 0. */
export function addSubnet(ctx: RuntimeContext, p: SubnetParams): void {
  const s = ctx.state;
  const k = [p.netuid];
  s.set(SM, 'networksAdded', k, true);
  s.set(SM, 'subnetMechanism', k, 1);
  s.set(SM, 'tempo', k, p.tempo);
  s.set(SM, 'subnetOwner', k, p.ownerColdkey);
  s.set(SM, 'subnetOwnerHotkey', k, p.ownerHotkey);
  s.set(SM, 'networkRegistrationAllowed', k, true);
  s.set(SM, 'maxAllowedUids', k, p.maxAllowedUids);
  s.set(SM, 'maxAllowedValidators', k, 64);
  s.set(SM, 'minAllowedWeights', k, 1);
  s.set(SM, 'immunityPeriod', k, p.immunityPeriod);
  s.set(SM, 'activityCutoff', k, p.activityCutoff);
  s.set(SM, 'kappa', k, 32767);
  s.set(SM, 'bondsMovingAverage', k, 900_000);
  s.set(SM, 'bondsPenalty', k, 65535);
  s.set(SM, 'weightsSetRateLimit', k, p.weightsRateLimit);
  s.set(SM, 'weightsVersionKey', k, 0);
  s.set(SM, 'maxWeightsLimit', k, 65535);
  s.set(SM, 'commitRevealWeightsEnabled', k, p.commitReveal);
  s.set(SM, 'revealPeriodEpochs', k, 1);
  s.set(SM, 'yuma3On', k, true);
  s.set(SM, 'liquidAlphaOn', k, false);
  s.set(SM, 'burn', k, p.burn);
  appendNeuron(ctx, p.netuid, p.ownerHotkey);
  if (!s.has(SM, 'owner', [p.ownerHotkey])) s.set(SM, 'owner', [p.ownerHotkey], p.ownerColdkey);
  ctx.emit('SubtensorModule', 'NetworkAdded', [p.netuid, 1]);
}

export function subnetSize(s: State, netuid: number): number {
  return s.num(SM, 'subnetworkN', [netuid]);
}

export function uidOf(s: State, netuid: number, hotkey: string): number | undefined {
  const v = s.get(SM, 'uids', [netuid, hotkey]);
  return v === undefined ? undefined : Number(v.toString());
}

/** Alpha staked on a hotkey in a subnet (`TotalHotkeyAlpha`), in rao. */
export function hotkeyAlpha(s: State, hotkey: AccountLike, netuid: number): bigint {
  return s.big(SM, 'totalHotkeyAlpha', [hotkey, netuid]);
}

/** Add alpha to a hotkey's stake from a coldkey (share price kept at 1: shares = alpha). */
export function creditAlpha(s: State, hotkey: AccountLike, coldkey: AccountLike, netuid: number, alpha: bigint): void {
  if (alpha <= 0n) return;
  s.set(SM, 'totalHotkeyAlpha', [hotkey, netuid], hotkeyAlpha(s, hotkey, netuid) + alpha);
  // Shares are U64F64 fixed point (`bits` = value · 2^64).
  const shares = fixedBits(s, 'totalHotkeyShares', [hotkey, netuid]);
  s.set(SM, 'totalHotkeyShares', [hotkey, netuid], { bits: shares + (alpha << 64n) });
  const mine = fixedBits(s, 'alpha', [hotkey, coldkey, netuid]);
  s.set(SM, 'alpha', [hotkey, coldkey, netuid], { bits: mine + (alpha << 64n) });
  s.set(SM, 'subnetAlphaOut', [netuid], s.big(SM, 'subnetAlphaOut', [netuid]) + alpha);
}

function fixedBits(s: State, item: string, keys: unknown[]): bigint {
  const v = s.get(SM, item, keys) as unknown as { get(k: string): { toString(): string } | undefined } | undefined;
  return BigInt(v?.get('bits')?.toString() ?? '0');
}

function pushVec(s: State, item: string, netuid: number, value: unknown): void {
  const cur: unknown[] = s.numVec(SM, item, [netuid]);
  cur.push(value);
  s.set(SM, item, [netuid], cur);
}

function setVecAt(s: State, item: string, netuid: number, uid: number, value: unknown): void {
  const cur: unknown[] = s.numVec(SM, item, [netuid]);
  cur[uid] = value;
  s.set(SM, item, [netuid], cur);
}

function appendNeuron(ctx: RuntimeContext, netuid: number, hotkey: string): number {
  const s = ctx.state;
  const uid = subnetSize(s, netuid);
  s.set(SM, 'subnetworkN', [netuid], uid + 1);
  for (const [item, zero] of NEURON_VECTORS) pushVec(s, item, netuid, zero);
  pushVec(s, 'lastUpdate', netuid, ctx.block);
  s.set(SM, 'keys', [netuid, uid], hotkey);
  s.set(SM, 'uids', [netuid, hotkey], uid);
  s.set(SM, 'blockAtRegistration', [netuid, uid], ctx.block);
  return uid;
}

function replaceNeuron(ctx: RuntimeContext, netuid: number, uid: number, hotkey: string): void {
  const s = ctx.state;
  const old = s.get(SM, 'keys', [netuid, uid])!.toString();
  s.remove(SM, 'uids', [netuid, old]);
  s.remove(SM, 'weights', [netuid, uid]);
  s.remove(SM, 'bonds', [netuid, uid]);
  s.remove(SM, 'axons', [netuid, old]);
  const n = subnetSize(s, netuid);
  for (let i = 0; i < n; i++) {
    for (const item of ['weights', 'bonds']) {
      const row = s.pairs(SM, item, [netuid, i]);
      if (row.some(([j]) => j === uid)) s.set(SM, item, [netuid, i], row.filter(([j]) => j !== uid));
    }
  }
  for (const [item, zero] of NEURON_VECTORS) setVecAt(s, item, netuid, uid, zero);
  setVecAt(s, 'lastUpdate', netuid, uid, ctx.block);
  s.set(SM, 'keys', [netuid, uid], hotkey);
  s.set(SM, 'uids', [netuid, hotkey], uid);
  s.set(SM, 'blockAtRegistration', [netuid, uid], ctx.block);
}

/** The uid a new registration replaces in a full subnet: not immune, not the owner; lowest emission, earliest registration, lowest uid. */
function pruneCandidate(ctx: RuntimeContext, netuid: number): number | undefined {
  const s = ctx.state;
  const n = subnetSize(s, netuid);
  const immunity = s.num(SM, 'immunityPeriod', [netuid]);
  const owner = s.get(SM, 'subnetOwnerHotkey', [netuid])?.toString();
  const emission = s.numVec(SM, 'emission', [netuid]);
  let best: { uid: number; emission: number; reg: number } | undefined;
  for (let uid = 0; uid < n; uid++) {
    const reg = s.num(SM, 'blockAtRegistration', [netuid, uid]);
    if (ctx.block - reg < immunity) continue;
    if (s.get(SM, 'keys', [netuid, uid])?.toString() === owner) continue;
    const e = emission[uid] ?? 0;
    if (!best || e < best.emission || (e === best.emission && reg < best.reg)) best = { uid, emission: e, reg };
  }
  return best?.uid;
}

function requireSubnet(s: State, netuid: number, error = 'MechanismDoesNotExist'): void {
  if (!s.bool(SM, 'networksAdded', [netuid])) fail(ERR, error);
}

/** `burned_register(netuid, hotkey)`, signed by the coldkey. */
export function burnedRegister(ctx: RuntimeContext, coldkey: string, netuid: number, hotkey: string): void {
  const s = ctx.state;
  if (netuid === 0) fail(ERR, 'RegistrationNotPermittedOnRootSubnet');
  requireSubnet(s, netuid, 'SubnetNotExists');
  if (!s.bool(SM, 'networkRegistrationAllowed', [netuid])) fail(ERR, 'SubNetRegistrationDisabled');
  if (uidOf(s, netuid, hotkey) !== undefined) fail(ERR, 'HotKeyAlreadyRegisteredInSubNet');
  const burn = s.big(SM, 'burn', [netuid]);
  const owner = s.get(SM, 'owner', [hotkey]);
  if (s.has(SM, 'owner', [hotkey]) && owner!.toString() !== coldkey) fail(ERR, 'NonAssociatedColdKey');
  const n = subnetSize(s, netuid);
  const full = n >= s.num(SM, 'maxAllowedUids', [netuid]);
  const replace = full ? pruneCandidate(ctx, netuid) : undefined;
  if (full && replace === undefined) fail(ERR, 'NoNeuronIdAvailable');
  withdraw(ctx, coldkey, burn, false, [ERR, 'NotEnoughBalanceToStake']);
  s.set(SM, 'owner', [hotkey], coldkey);
  let uid: number;
  if (replace === undefined) uid = appendNeuron(ctx, netuid, hotkey);
  else { uid = replace; replaceNeuron(ctx, netuid, uid, hotkey); }
  s.set(SM, 'registrationsThisBlock', [netuid], s.num(SM, 'registrationsThisBlock', [netuid]) + 1);
  ctx.emit('SubtensorModule', 'NeuronRegistered', [netuid, uid, hotkey]);
}

/** `add_stake(hotkey, netuid, amount)`: TAO from the coldkey becomes alpha on the hotkey at price 1. */
export function addStake(ctx: RuntimeContext, coldkey: string, hotkey: string, netuid: number, amount: bigint): void {
  const s = ctx.state;
  requireSubnet(s, netuid, 'SubnetNotExists');
  if (!s.has(SM, 'owner', [hotkey])) fail(ERR, 'HotKeyAccountNotExists');
  if (amount <= 0n) fail(ERR, 'AmountTooLow');
  withdraw(ctx, coldkey, amount, false, [ERR, 'NotEnoughBalanceToStake']);
  creditAlpha(s, hotkey, coldkey, netuid, amount);
  ctx.emit('SubtensorModule', 'StakeAdded', [coldkey, hotkey, amount, amount, netuid, 0]);
}

/** Round half away from zero (the chain's max-upscale rounding). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** The checks and the write of `set_weights` (in subtensor's order); `checkRateLimit` false for a reveal. */
function doSetWeights(ctx: RuntimeContext, hotkey: string, netuid: number, uids: number[], values: number[], versionKey: bigint, checkRateLimit: boolean): void {
  const s = ctx.state;
  if (netuid === 0) fail(ERR, 'CanNotSetRootNetworkWeights');
  if (uids.length !== values.length) fail(ERR, 'WeightVecNotEqualSize');
  requireSubnet(s, netuid);
  const n = subnetSize(s, netuid);
  if (uids.length > n) fail(ERR, 'UidsLengthExceedUidsInSubNet');
  const uid = uidOf(s, netuid, hotkey);
  if (uid === undefined) fail(ERR, 'HotKeyNotRegisteredInSubNet');
  const ownerHotkey = s.get(SM, 'subnetOwnerHotkey', [netuid])?.toString();
  const isOwner = ownerHotkey === hotkey;
  if (!isOwner && hotkeyAlpha(s, hotkey, netuid) < s.big(SM, 'stakeThreshold')) fail(ERR, 'NotEnoughStakeToSetWeights');
  const minVersion = s.big(SM, 'weightsVersionKey', [netuid]);
  if (minVersion !== 0n && versionKey < minVersion) fail(ERR, 'IncorrectWeightVersionKey');
  const lastUpdate = s.numVec(SM, 'lastUpdate', [netuid]);
  if (checkRateLimit) {
    const lu = lastUpdate[uid] ?? 0;
    if (lu !== 0 && ctx.block - lu < s.num(SM, 'weightsSetRateLimit', [netuid])) fail(ERR, 'SettingWeightsTooFast');
  }
  const selfOnly = uids.length === 1 && uids[0] === uid;
  const permits = s.numVec(SM, 'validatorPermit', [netuid]);
  if (!selfOnly && !isOwner && !permits[uid]) fail(ERR, 'NeuronNoValidatorPermit');
  if (new Set(uids).size !== uids.length) fail(ERR, 'DuplicateUids');
  if (uids.some((u) => u >= n)) fail(ERR, 'UidVecContainInvalidOne');
  if (!selfOnly && uids.length < Math.min(s.num(SM, 'minAllowedWeights', [netuid]), n)) fail(ERR, 'WeightVecLengthIsLow');
  const max = Math.max(0, ...values);
  const scaled = max === 0 ? values.map(() => 0) : values.map((v) => roundHalfAway((v * 65535) / max));
  const limit = s.num(SM, 'maxWeightsLimit', [netuid]);
  if (!selfOnly && limit !== 65535) {
    const sum = scaled.reduce((a, v) => a + v, 0);
    if (sum > 0 && Math.max(...scaled) / sum > limit / 65535) fail(ERR, 'MaxWeightExceeded');
  }
  s.set(SM, 'weights', [netuid, uid], uids.map((u, i) => [u, scaled[i]]));
  lastUpdate[uid] = ctx.block;
  s.set(SM, 'lastUpdate', [netuid], lastUpdate);
  ctx.emit('SubtensorModule', 'WeightsSet', [netuid, uid]);
}

/** `set_weights(netuid, dests, weights, version_key)`, signed by the hotkey. */
export function setWeights(ctx: RuntimeContext, hotkey: string, netuid: number, uids: number[], values: number[], versionKey: bigint): void {
  if (ctx.state.bool(SM, 'commitRevealWeightsEnabled', [netuid])) fail(ERR, 'CommitRevealEnabled');
  doSetWeights(ctx, hotkey, netuid, uids, values, versionKey, true);
}

/** Epoch index of a block (the chain's legacy formula, which the finney metadata's storage implies). */
export function epochIndex(block: number, netuid: number, tempo: number): number {
  return Math.floor((block + netuid + 1) / (tempo + 1));
}

/** commit/reveal v2 hash: blake2_256(SCALE(hotkey, netuid, uids, values, salt, version_key)). */
export function commitHash(ctx: RuntimeContext, hotkey: string, netuid: number, uids: number[], values: number[], salt: number[], versionKey: bigint): string {
  const r = ctx.meta.registry;
  const bytes = r.createType('(AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64)', [hotkey, netuid, uids, values, salt, versionKey]).toU8a();
  return u8aToHex(blake2AsU8a(bytes, 256));
}

type Commit = [string, number, number, number];
const MAX_UNREVEALED = 10;

function liveCommits(ctx: RuntimeContext, netuid: number, hotkey: AccountLike): Commit[] {
  const v = ctx.state.get(SM, 'weightCommits', [netuid, hotkey]);
  const all = v ? (v.toJSON() as Array<[string, number | string, number | string, number | string]>).map((c) => [c[0], Number(c[1]), Number(c[2]), Number(c[3])] as Commit) : [];
  return all.filter((c) => ctx.block <= c[3]);
}

/** `commit_weights(netuid, hash)`: stores the hash with its reveal window. */
export function commitWeights(ctx: RuntimeContext, hotkey: string, netuid: number, hash: string): void {
  const s = ctx.state;
  if (!s.bool(SM, 'commitRevealWeightsEnabled', [netuid])) fail(ERR, 'CommitRevealDisabled');
  requireSubnet(s, netuid);
  const uid = uidOf(s, netuid, hotkey);
  if (uid === undefined) fail(ERR, 'HotKeyNotRegisteredInSubNet');
  const lastUpdate = s.numVec(SM, 'lastUpdate', [netuid]);
  const lu = lastUpdate[uid] ?? 0;
  if (lu !== 0 && ctx.block - lu < s.num(SM, 'weightsSetRateLimit', [netuid])) fail(ERR, 'CommittingWeightsTooFast');
  const commits = liveCommits(ctx, netuid, hotkey);
  if (commits.length >= MAX_UNREVEALED) fail(ERR, 'TooManyUnrevealedCommits');
  const tempo = s.num(SM, 'tempo', [netuid]);
  const period = s.num(SM, 'revealPeriodEpochs', [netuid]);
  const revealEpoch = epochIndex(ctx.block, netuid, tempo) + period;
  // Blocks of the reveal epoch: first block b with epochIndex(b) = revealEpoch, through the last.
  const first = revealEpoch * (tempo + 1) - netuid - 1;
  const last = first + tempo;
  commits.push([hash, ctx.block, first, last]);
  s.set(SM, 'weightCommits', [netuid, hotkey], commits);
  lastUpdate[uid] = ctx.block;
  s.set(SM, 'lastUpdate', [netuid], lastUpdate);
  ctx.emit('SubtensorModule', 'WeightsCommitted', [hotkey, netuid, hash]);
}

/** `reveal_weights(netuid, uids, values, salt, version_key)`: must match a commit in its reveal epoch. */
export function revealWeights(ctx: RuntimeContext, hotkey: string, netuid: number, uids: number[], values: number[], salt: number[], versionKey: bigint): void {
  const s = ctx.state;
  if (!s.bool(SM, 'commitRevealWeightsEnabled', [netuid])) fail(ERR, 'CommitRevealDisabled');
  const stored = s.get(SM, 'weightCommits', [netuid, hotkey]);
  if (!stored) fail(ERR, 'NoWeightsCommitFound');
  const all = (stored.toJSON() as Array<[string, number, number, number]>).map((c) => [c[0], Number(c[1]), Number(c[2]), Number(c[3])] as Commit);
  const hash = commitHash(ctx, hotkey, netuid, uids, values, salt, versionKey);
  const idx = all.findIndex((c) => c[0] === hash);
  if (idx < 0) {
    if (all.every((c) => ctx.block > c[3])) fail(ERR, 'ExpiredWeightCommit');
    fail(ERR, 'InvalidRevealCommitHashNotMatch');
  }
  const c = all[idx]!;
  if (ctx.block < c[2]) fail(ERR, 'RevealTooEarly');
  if (ctx.block > c[3]) fail(ERR, 'ExpiredWeightCommit');
  doSetWeights(ctx, hotkey, netuid, uids, values, versionKey, false);
  const rest = all.filter((x, i) => i > idx && ctx.block <= x[3]);
  if (rest.length === 0) s.remove(SM, 'weightCommits', [netuid, hotkey]);
  else s.set(SM, 'weightCommits', [netuid, hotkey], rest);
  ctx.emit('SubtensorModule', 'WeightsRevealed', [hotkey, netuid, hash]);
}

/** Earliest unexpired commit block of a hotkey (for the epoch's commit-reveal weight mask). */
export function earliestCommitBlock(ctx: RuntimeContext, netuid: number, hotkey: AccountLike): number | null {
  const commits = liveCommits(ctx, netuid, hotkey);
  return commits.length ? Math.min(...commits.map((c) => c[1])) : null;
}

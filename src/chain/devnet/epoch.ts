/**
 * The per-block step of each subnet (docs/devnet.md, "Epochs and Yuma") and its epoch: gather Yuma's inputs from
 * storage, run `yumaEpoch`, write the results (§1 step 13) and pay the epoch's emission.
 *
 * Simplified emission (documented in README.md): every block mints ALPHA_PER_BLOCK alpha for the
 * subnet; at the epoch the accumulated amount E = blocks since the last epoch × ALPHA_PER_BLOCK is
 * split: the owner cut (`SubnetOwnerCut`/65535, ≈18%) is staked to the owner hotkey, the rest goes
 * half to miners by incentive and half to validators by dividends (the owner's own incentive is
 * burned). Miners' and validators' alpha is staked to their hotkey (no validator take, no root).
 */
import { u8aEq } from '@polkadot/util';
import type { RuntimeContext } from './runtime.js';
import { yumaEpoch, splitEmission, toU16, type SparseRow } from './yuma.js';
import { creditAlpha, earliestCommitBlock, hotkeyAlpha, subnetSize } from './pallets/subtensor.js';

const SM = 'subtensorModule';
/** Alpha minted per block for the subnet (1 alpha, in rao). */
export const ALPHA_PER_BLOCK = 1_000_000_000n;

/** Whether an epoch runs at block `b` (the legacy schedule: `(b + netuid + 1) % (tempo + 1) == 0`). */
export function isEpochBlock(b: number, netuid: number, tempo: number): boolean {
  return tempo > 0 && (b + netuid + 1) % (tempo + 1) === 0;
}

/** Block step for every subnet: counters, and the epoch when one is due. Runs before the block's extrinsics. */
export function blockStep(ctx: RuntimeContext, netuids: number[]): void {
  for (const netuid of netuids) {
    const s = ctx.state;
    s.set(SM, 'registrationsThisBlock', [netuid], 0);
    const since = s.num(SM, 'blocksSinceLastStep', [netuid]) + 1;
    s.set(SM, 'blocksSinceLastStep', [netuid], since);
    const tempo = s.num(SM, 'tempo', [netuid]);
    if (!isEpochBlock(ctx.block, netuid, tempo)) continue;
    runEpoch(ctx, netuid, BigInt(since) * ALPHA_PER_BLOCK);
    s.set(SM, 'blocksSinceLastStep', [netuid], 0);
    s.set(SM, 'lastMechansimStepBlock', [netuid], ctx.block);
  }
}

function sparseRow(ctx: RuntimeContext, item: string, netuid: number, uid: number): SparseRow {
  return ctx.state.pairs(SM, item, [netuid, uid]);
}

/** One epoch of a subnet with `total` alpha (rao) to distribute. */
export function runEpoch(ctx: RuntimeContext, netuid: number, total: bigint): void {
  const s = ctx.state;
  const n = subnetSize(s, netuid);
  if (n === 0) return;
  // Accounts as raw 32-byte ids: SS58 strings would cost a base58 + blake2 round trip per key.
  const hotkeys = Array.from({ length: n }, (_, uid) => s.raw(SM, 'keys', [netuid, uid]) ?? new Uint8Array(32));
  const ownerHotkey = s.raw(SM, 'subnetOwnerHotkey', [netuid]) ?? undefined;
  const ownerIdx = ownerHotkey === undefined ? -1 : hotkeys.findIndex((hk) => u8aEq(hk, ownerHotkey));
  const ownerUid = ownerIdx >= 0 ? ownerIdx : null;
  const commitReveal = s.bool(SM, 'commitRevealWeightsEnabled', [netuid]);
  const stakeRao = hotkeys.map((hk) => hotkeyAlpha(s, hk, netuid));

  const out = yumaEpoch({
    block: ctx.block,
    tempo: s.num(SM, 'tempo', [netuid]),
    stake: stakeRao.map(Number),
    ownerUid,
    lastUpdate: s.numVec(SM, 'lastUpdate', [netuid]),
    registeredAt: hotkeys.map((_, uid) => s.num(SM, 'blockAtRegistration', [netuid, uid])),
    activityCutoff: s.num(SM, 'activityCutoff', [netuid]),
    validatorPermit: s.numVec(SM, 'validatorPermit', [netuid]).map(Boolean),
    maxAllowedValidators: s.num(SM, 'maxAllowedValidators', [netuid]),
    stakeThreshold: Number(s.big(SM, 'stakeThreshold')),
    weights: hotkeys.map((_, uid) => sparseRow(ctx, 'weights', netuid, uid)),
    bonds: hotkeys.map((_, uid) => sparseRow(ctx, 'bonds', netuid, uid)),
    kappa: s.num(SM, 'kappa', [netuid]),
    bondsPenalty: s.num(SM, 'bondsPenalty', [netuid]),
    bondsMovingAverage: s.num(SM, 'bondsMovingAverage', [netuid]),
    lastMechanismStepBlock: s.num(SM, 'lastMechansimStepBlock', [netuid]),
    commitBlocks: commitReveal ? hotkeys.map((hk) => earliestCommitBlock(ctx, netuid, hk)) : undefined,
  });

  // Emission: owner cut first, then Yuma's split of the rest.
  const ownerCut = (total * BigInt(s.num(SM, 'subnetOwnerCut'))) / 65535n;
  const split = splitEmission(out.incentive, out.dividends, out.activeStake, total - ownerCut);
  const ownerColdkey = s.raw(SM, 'subnetOwner', [netuid]);
  if (ownerHotkey && ownerColdkey) creditAlpha(s, ownerHotkey, ownerColdkey, netuid, ownerCut);
  hotkeys.forEach((hk, uid) => {
    const coldkey = s.raw(SM, 'owner', [hk]) ?? hk;
    const serverAlpha = uid === ownerUid ? 0n : split.server[uid]!; // the owner's incentive is burned
    creditAlpha(s, hk, coldkey, netuid, serverAlpha + split.validator[uid]!);
  });

  s.set(SM, 'active', [netuid], out.active);
  s.set(SM, 'emission', [netuid], split.emission);
  s.set(SM, 'consensus', [netuid], out.consensus.map(toU16));
  s.set(SM, 'incentive', [netuid], out.incentive.map(toU16));
  s.set(SM, 'dividends', [netuid], out.dividends.map(toU16));
  s.set(SM, 'validatorTrust', [netuid], out.validatorTrust.map(toU16));
  s.set(SM, 'validatorPermit', [netuid], out.validatorPermit);
  s.set(SM, 'stakeWeight', [netuid], out.stake.map(toU16));
  out.bonds.forEach((row, uid) => {
    if (row.length) s.set(SM, 'bonds', [netuid, uid], row);
    else s.remove(SM, 'bonds', [netuid, uid]);
  });
}

/**
 * Routes a decoded call to the devnet's pallets. Calls the devnet does not implement fail with
 * `DispatchError::Other` (and the README lists what is implemented).
 */
import type { Codec } from '@polkadot/types/types';
import { DispatchError, type RuntimeContext } from './runtime.js';
import { transfer } from './pallets/balances.js';
import { addStake, burnedRegister, commitWeights, revealWeights, setWeights } from './pallets/subtensor.js';
import { setCommitment } from './pallets/commitments.js';

const num = (c: Codec): number => Number(c.toString());
const big = (c: Codec): bigint => BigInt(c.toString());
const nums = (c: Codec): number[] => (c.toJSON() as number[]).map(Number);
/** An `AccountIdLookupOf` (MultiAddress) or AccountId as an SS58 string. */
const account = (c: Codec): string => {
  const j = c as unknown as { isId?: boolean; asId?: Codec };
  return j.isId !== undefined ? (j.isId ? j.asId!.toString() : unsupportedAddress()) : c.toString();
};
/** Only `MultiAddress::Id` destinations exist on the devnet (no indices, no raw/EVM addresses). */
function unsupportedAddress(): never {
  throw new DispatchError('CannotLookup');
}

/** Execute `call` signed by `who`. Throws DispatchError on failure. */
export function dispatch(ctx: RuntimeContext, who: string, call: { section: string; method: string; args: Codec[] }): void {
  const a = call.args;
  switch (`${call.section}.${call.method}`) {
    case 'balances.transferKeepAlive': return transfer(ctx, who, account(a[0]!), big(a[1]!), true);
    case 'balances.transferAllowDeath': return transfer(ctx, who, account(a[0]!), big(a[1]!), false);
    case 'subtensorModule.burnedRegister': return burnedRegister(ctx, who, num(a[0]!), a[1]!.toString());
    case 'subtensorModule.addStake': return addStake(ctx, who, a[0]!.toString(), num(a[1]!), big(a[2]!));
    case 'subtensorModule.setWeights': return setWeights(ctx, who, num(a[0]!), nums(a[1]!), nums(a[2]!), big(a[3]!));
    case 'subtensorModule.setMechanismWeights':
      if (num(a[1]!) !== 0) throw new DispatchError('Module', 'SubtensorModule', 'MechanismDoesNotExist');
      return setWeights(ctx, who, num(a[0]!), nums(a[2]!), nums(a[3]!), big(a[4]!));
    case 'subtensorModule.commitWeights': return commitWeights(ctx, who, num(a[0]!), a[1]!.toHex());
    case 'subtensorModule.revealWeights': return revealWeights(ctx, who, num(a[0]!), nums(a[1]!), nums(a[2]!), nums(a[3]!), big(a[4]!));
    case 'commitments.setCommitment': return setCommitment(ctx, who, num(a[0]!), a[1]!);
    case 'system.remark': return;
    case 'system.remarkWithEvent': return;
    default:
      throw new DispatchError('Other');
  }
}

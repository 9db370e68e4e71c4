/**
 * What a devnet call runs with: the block's state, its number, an event sink and the chain's
 * configuration; and the errors a call fails with, named as on finney so `@polkadot/api` decodes
 * them to `subtensorModule.SettingWeightsTooFast` and the like.
 */
import type { State } from './state.js';
import type { RuntimeMeta } from './metadata.js';

/** A failed dispatch: a module error (`pallet.name`) or one of the plain DispatchError variants. */
export class DispatchError extends Error {
  constructor(readonly kind: 'Module' | 'BadOrigin' | 'CannotLookup' | 'Other', readonly pallet?: string, readonly errorName?: string) {
    super(kind === 'Module' ? `${pallet}.${errorName}` : kind);
  }
}

/** Fail the current call with `pallet.name` (e.g. `moduleError('SubtensorModule', 'DuplicateUids')`). */
export function fail(pallet: string, name: string): never {
  throw new DispatchError('Module', pallet, name);
}

export interface EmittedEvent {
  pallet: string;
  name: string;
  fields: unknown[];
}

export interface RuntimeContext {
  meta: RuntimeMeta;
  state: State;
  /** Number of the block being built. */
  block: number;
  emit(pallet: string, name: string, fields: unknown[]): void;
}

/** One TAO (and one alpha) in rao. */
export const RAO_PER_TAO = 1_000_000_000n;

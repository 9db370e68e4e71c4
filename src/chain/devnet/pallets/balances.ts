/**
 * Balances on the devnet: `System.Account` entries (nonce and free balance), transfers and the
 * withdrawals other pallets make (registration burn, stake). No fees are charged on the devnet.
 */
import type { Codec } from '@polkadot/types/types';
import type { State } from '../state.js';
import { fail, type RuntimeContext } from '../runtime.js';

/** The `ExtraFlags` bit new accounts carry on current Substrate. */
const NEW_LOGIC_FLAG = 1n << 127n;

export interface AccountInfo {
  nonce: number;
  consumers: number;
  providers: number;
  sufficients: number;
  free: bigint;
  reserved: bigint;
  frozen: bigint;
  flags: bigint;
}

type Struct = Codec & { get(name: string): Codec | undefined };
const big = (c: Codec | undefined): bigint => BigInt(c?.toString() ?? '0');

/** `System.Account(who)` (zeros when the account does not exist). */
export function getAccount(state: State, who: string): AccountInfo {
  const v = state.get('system', 'account', [who]) as Struct;
  const data = v.get('data') as Struct;
  return {
    nonce: Number(big(v.get('nonce'))), consumers: Number(big(v.get('consumers'))),
    providers: Number(big(v.get('providers'))), sufficients: Number(big(v.get('sufficients'))),
    free: big(data.get('free')), reserved: big(data.get('reserved')), frozen: big(data.get('frozen')), flags: big(data.get('flags')),
  };
}

export function setAccount(state: State, who: string, a: AccountInfo): void {
  state.set('system', 'account', [who], {
    nonce: a.nonce, consumers: a.consumers, providers: a.providers, sufficients: a.sufficients,
    data: { free: a.free, reserved: a.reserved, frozen: a.frozen, flags: a.flags },
  });
}

/** The chain's existential deposit (a metadata constant). */
export function existentialDeposit(ctx: RuntimeContext): bigint {
  return BigInt((ctx.meta.decorated.consts['balances']!['existentialDeposit'] as Codec).toString());
}

/** Credit `amount` to `who`, creating the account (NewAccount + Endowed events) if needed. */
export function deposit(ctx: RuntimeContext, who: string, amount: bigint): void {
  const a = getAccount(ctx.state, who);
  const created = a.providers === 0 && a.free === 0n;
  if (created) {
    a.providers = 1;
    a.flags = NEW_LOGIC_FLAG;
  }
  a.free += amount;
  setAccount(ctx.state, who, a);
  if (created) {
    ctx.emit('System', 'NewAccount', [who]);
    ctx.emit('Balances', 'Endowed', [who, amount]);
  }
  adjustIssuance(ctx.state, amount);
}

/** Take `amount` from `who` (burned: total issuance falls). `keepAlive` refuses to go below the ED. */
export function withdraw(ctx: RuntimeContext, who: string, amount: bigint, keepAlive: boolean, onShort: [string, string] = ['Balances', 'InsufficientBalance']): void {
  const a = getAccount(ctx.state, who);
  if (a.free < amount) fail(onShort[0], onShort[1]);
  const left = a.free - amount;
  if (keepAlive && left < existentialDeposit(ctx)) fail('Balances', 'Expendability');
  a.free = left;
  setAccount(ctx.state, who, a);
  ctx.emit('Balances', 'Withdraw', [who, amount]);
  adjustIssuance(ctx.state, -amount);
}

function adjustIssuance(state: State, delta: bigint): void {
  state.set('balances', 'totalIssuance', [], state.big('balances', 'totalIssuance') + delta);
}

/** `Balances.transfer_keep_alive` / `transfer_allow_death`. */
export function transfer(ctx: RuntimeContext, from: string, to: string, amount: bigint, keepAlive: boolean): void {
  const src = getAccount(ctx.state, from);
  if (src.free < amount) fail('Balances', 'InsufficientBalance');
  const left = src.free - amount;
  const ed = existentialDeposit(ctx);
  if (keepAlive && left < ed && from !== to) fail('Balances', 'Expendability');
  if (from === to) return;
  const dst = getAccount(ctx.state, to);
  if (dst.free === 0n && dst.providers === 0 && amount < ed) fail('Balances', 'ExistentialDeposit');
  src.free = left;
  setAccount(ctx.state, from, src);
  const created = dst.providers === 0 && dst.free === 0n;
  if (created) { dst.providers = 1; dst.flags = NEW_LOGIC_FLAG; }
  dst.free += amount;
  setAccount(ctx.state, to, dst);
  if (created) {
    ctx.emit('System', 'NewAccount', [to]);
    ctx.emit('Balances', 'Endowed', [to, amount]);
  }
  ctx.emit('Balances', 'Transfer', [from, to, amount]);
}

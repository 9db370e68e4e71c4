/** Balances on the devnet at the pallet level: transfers, the existential deposit, withdrawals. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { DevnetChain, devAddress, DEV_ENDOWMENT } from '../../../../src/chain/devnet/chain.js';
import { existentialDeposit, getAccount, transfer } from '../../../../src/chain/devnet/pallets/balances.js';
import { dispatchErrorOf, runtimeAt } from '../helpers.js';

let chain: DevnetChain;
beforeAll(async () => { await cryptoWaitReady(); chain = new DevnetChain(undefined, {}); });
afterAll(() => chain?.close());

describe('transfers', () => {
  it('moves funds, creating the destination account', () => {
    const ctx = runtimeAt(chain, 1);
    const ferdie = devAddress('Ferdie');
    const zed = devAddress('Zed');
    transfer(ctx, ferdie, zed, 1_000_000_000n, true);
    expect(getAccount(ctx.state, ferdie).free).toBe(DEV_ENDOWMENT - 1_000_000_000n);
    expect(getAccount(ctx.state, zed)).toMatchObject({ free: 1_000_000_000n, providers: 1 });
    expect(ctx.events).toEqual(['System.NewAccount', 'Balances.Endowed', 'Balances.Transfer']);
  });

  it('keep-alive refuses to leave less than the existential deposit; allow-death does not', () => {
    const ctx = runtimeAt(chain, 1);
    const eve = devAddress('Eve');
    const zed = devAddress('Zed');
    const ed = existentialDeposit(ctx);
    expect(ed).toBeGreaterThan(0n);
    expect(dispatchErrorOf(() => transfer(ctx, eve, zed, DEV_ENDOWMENT, true))).toBe('Balances.Expendability');
    expect(dispatchErrorOf(() => transfer(ctx, eve, zed, DEV_ENDOWMENT + 1n, false))).toBe('Balances.InsufficientBalance');
    expect(dispatchErrorOf(() => transfer(ctx, eve, devAddress('Yan'), ed - 1n, false))).toBe('Balances.ExistentialDeposit');
    transfer(ctx, eve, zed, DEV_ENDOWMENT, false);
    expect(getAccount(ctx.state, eve).free).toBe(0n);
  });
});

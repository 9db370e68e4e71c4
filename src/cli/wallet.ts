/**
 * `flock wallet create|list|show|regen`: Bittensor wallets in btcli's on-disk format, so keys made
 * here work in btcli and the other way round.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { hexToU8a, isHex } from '@polkadot/util';
import { z } from 'zod';
import {
  generateMnemonic, keypairFromAddress, keypairFromMnemonic, keypairFromSeed, listWallets, newPassword,
  type WalletKeypair,
} from '../chain/wallet/index.js';
import { UsageError } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';
import { walletFromFlags } from './clients.js';
import { addJsonOption, addWalletOptions, flag, jsonSchema, parsePositiveInt, text, walletSchema } from './options.js';
import { action } from './run.js';
import type { CommandContext } from './context.js';

/** Mnemonic lengths BIP39 defines. */
const wordCount = z.literal([12, 15, 18, 21, 24], { error: 'must be 12, 15, 18, 21 or 24' });

const createSchema = z.object({ ...walletSchema.shape, ...jsonSchema.shape, nWords: wordCount, usePassword: flag, overwrite: flag });
const listSchema = z.object({ ...jsonSchema.shape, 'wallet.path': text });
const showSchema = z.object({ ...walletSchema.shape, ...jsonSchema.shape });
const regenSchema = showSchema.extend({
  mnemonic: text.optional(), seed: text.optional(), ss58: text.optional(), usePassword: flag, overwrite: flag,
});
type RegenOptions = z.output<typeof regenSchema>;

function print(ctx: CommandContext<{ json: boolean }>, json: unknown, text: string[]): void {
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${text.join('\n')}\n`);
}

async function create(ctx: CommandContext<z.output<typeof createSchema>>): Promise<number> {
  const wallet = await walletFromFlags(ctx.opts);
  const { nWords: words, overwrite } = ctx.opts;
  const made: { key: string; path: string; address: string; mnemonic: string }[] = [];
  const haveCold = existsSync(wallet.coldkeypubPath);
  if (!haveCold || overwrite) {
    const key = await keypairFromMnemonic(generateMnemonic(words));
    const password = ctx.opts.usePassword ? await newPassword(wallet.coldkeyPath) : undefined;
    await wallet.setColdkey(key, { password, overwrite });
    made.push({ key: 'coldkey', path: wallet.coldkeyPath, address: key.address, mnemonic: key.mnemonic! });
  }
  const haveHot = existsSync(wallet.hotkeyPath());
  if (!haveHot || overwrite) {
    const key = await keypairFromMnemonic(generateMnemonic(words));
    await wallet.setHotkey(key, { overwrite });
    made.push({ key: 'hotkey', path: wallet.hotkeyPath(), address: key.address, mnemonic: key.mnemonic! });
  }
  if (made.length === 0) {
    throw new UsageError(`wallet "${wallet.name}" already has a coldkey and hotkey "${wallet.hotkeyName}"`, {
      hint: 'pick another --wallet.hotkey for a new hotkey, or pass --overwrite to replace both',
    });
  }
  print(ctx, { wallet: wallet.name, hotkey: wallet.hotkeyName, created: made },
    made.flatMap((m) => [
      `${m.key} ${m.address}  (${m.path})`,
      `  mnemonic: ${m.mnemonic}`,
    ]).concat(['', 'Write the mnemonics down and keep them secret: they are the only way to regenerate these keys.']));
  return 0;
}

async function list(ctx: CommandContext<z.output<typeof listSchema>>): Promise<number> {
  const root = ctx.opts['wallet.path'];
  const wallets = await listWallets(root);
  const lines = wallets.length === 0 ? [`no wallets under ${root}`] : wallets.flatMap((w) => [
    `${w.name}  coldkey ${w.coldkey ?? '(no coldkeypub.txt)'}`,
    ...w.hotkeys.map((h) => `  └─ ${h.name}  ${h.address ?? '(unreadable)'}`),
  ]);
  print(ctx, { path: root, wallets }, lines);
  return 0;
}

async function show(ctx: CommandContext<z.output<typeof showSchema>>): Promise<number> {
  const wallet = await walletFromFlags(ctx.opts);
  const cold = await wallet.getColdkeyPub().then((k) => k.address, () => undefined);
  const hot = await wallet.getHotkeyPub().then((k) => k.address, () => undefined);
  if (!cold && !hot) {
    throw new UsageError(`wallet "${wallet.name}" not found under ${wallet.root}`, { hint: 'create one with `flock wallet create`, or check --wallet.path' });
  }
  print(ctx, { wallet: wallet.name, path: wallet.dir, coldkey: cold ?? null, hotkey: wallet.hotkeyName, hotkeyAddress: hot ?? null }, [
    `wallet  ${wallet.name}  (${wallet.dir})`,
    `coldkey ${cold ?? '(no coldkeypub.txt)'}`,
    `hotkey  ${wallet.hotkeyName}  ${hot ?? '(missing)'}`,
  ]);
  return 0;
}

async function keyFromFlags(opts: RegenOptions, allowAddress: boolean): Promise<WalletKeypair> {
  const { mnemonic, seed, ss58 } = opts;
  const given = [mnemonic, seed, ss58].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError(`give exactly one of --mnemonic, --seed${allowAddress ? ', --ss58' : ''}`);
  if (mnemonic !== undefined) {
    registerSecret(mnemonic);
    return keypairFromMnemonic(mnemonic);
  }
  if (seed !== undefined) {
    registerSecret(seed);
    if (!isHex(seed.startsWith('0x') ? seed : `0x${seed}`, 256)) throw new UsageError('--seed must be 64 hex digits (a 32-byte mini secret)');
    return keypairFromSeed(hexToU8a(seed.startsWith('0x') ? seed : `0x${seed}`));
  }
  if (!allowAddress) throw new UsageError('--ss58 only makes a coldkeypub; give --mnemonic or --seed for a key that signs');
  return keypairFromAddress(ss58!);
}

async function regen(ctx: CommandContext<RegenOptions>, which: string): Promise<number> {
  const wallet = await walletFromFlags(ctx.opts);
  const { overwrite } = ctx.opts;
  let path: string;
  let key: WalletKeypair;
  if (which === 'coldkey') {
    key = await keyFromFlags(ctx.opts, false);
    const password = ctx.opts.usePassword ? await newPassword(wallet.coldkeyPath) : undefined;
    await wallet.setColdkey(key, { password, overwrite });
    path = wallet.coldkeyPath;
  } else if (which === 'coldkeypub') {
    key = await keyFromFlags(ctx.opts, true);
    await wallet.setColdkeyPub(key, { overwrite });
    path = wallet.coldkeypubPath;
  } else if (which === 'hotkey') {
    key = await keyFromFlags(ctx.opts, false);
    await wallet.setHotkey(key, { overwrite });
    path = wallet.hotkeyPath();
  } else {
    throw new UsageError(`unknown key "${which}": expected coldkey, coldkeypub or hotkey`);
  }
  print(ctx, { wallet: wallet.name, key: which, path, address: key.address }, [`${which} ${key.address}  (${path})`]);
  return 0;
}

const passwordOption = () => new Option('--no-use-password', 'leave the coldkey unencrypted (default: encrypt; password from BT_PW_… or a prompt)');

/** Register `flock wallet`. */
export function register(program: Command): void {
  const group = program.command('wallet').description('create, list, show and regenerate Bittensor wallets (btcli format)');

  const createCmd = group.command('create').description('create a coldkey (encrypted) and a hotkey, each from a new mnemonic')
    .addOption(new Option('--n-words <n>', 'mnemonic length').argParser(parsePositiveInt('--n-words')).default(12))
    .addOption(passwordOption())
    .option('--overwrite', 'replace existing keys', false);
  addJsonOption(addWalletOptions(createCmd)).action(action(createSchema, create));

  const listCmd = group.command('list').description('list wallets and their hotkeys (public files only; no password)');
  addJsonOption(listCmd.addOption(new Option('--wallet.path <dir>', 'wallets folder').env('BT_WALLET_PATH').default('~/.bittensor/wallets/')))
    .action(action(listSchema, list));

  const showCmd = group.command('show').description("show a wallet's coldkey and hotkey addresses");
  addJsonOption(addWalletOptions(showCmd)).action(action(showSchema, show));

  const regenCmd = group.command('regen').argument('<key>', 'coldkey | coldkeypub | hotkey')
    .description('regenerate a key from its mnemonic or seed (coldkeypub also from an --ss58 address)')
    .option('--mnemonic <words>', 'the BIP39 mnemonic (quote it)')
    .option('--seed <hex>', 'the 32-byte mini secret, 0x + 64 hex digits')
    .option('--ss58 <address>', 'address (coldkeypub only)')
    .addOption(passwordOption())
    .option('--overwrite', 'replace an existing key', false);
  addJsonOption(addWalletOptions(regenCmd)).action(action(regenSchema, (ctx, which) => regen(ctx, which!)));
}

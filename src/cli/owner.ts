/** `flock owner publish`: publish a competition (files on the hub, pointer on chain). */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { SubtensorChain, Wallet, resolveEndpoint, type ValueSource } from '../chain/index.js';
import { HubClient } from '../hub/index.js';
import { parseModelSource, publishCompetition } from '../owner/publish.js';
import { FlockError, UsageError } from '../util/errors.js';
import type { CommandContext } from './context.js';
import { addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions } from './options.js';
import { action } from './run.js';

async function publishCommand(ctx: CommandContext, cmd: Command): Promise<number> {
  const o = ctx.opts;
  const netuid = o['netuid'];
  if (typeof netuid !== 'number') throw new UsageError('--netuid is required');
  let competitionJson: unknown;
  try {
    competitionJson = JSON.parse(readFileSync(o['competition'] as string, 'utf8'));
  } catch (err) {
    throw new FlockError(`cannot read ${o['competition'] as string}: ${(err as Error).message}`);
  }
  const model = o['model'] ? await parseModelSource(o['model'] as string) : undefined;
  const owner = await new Wallet({ name: o['wallet.name'] as string, hotkey: o['wallet.hotkey'] as string, path: o['wallet.path'] as string }).getHotkey();
  if (!owner.pair) throw new FlockError('the owner hotkey has no secret half');
  const endpoint = resolveEndpoint({
    network: o['subtensor.network'] as string | undefined,
    chainEndpoint: o['subtensor.chain_endpoint'] as string | undefined,
    networkSource: cmd.getOptionValueSource('subtensor.network') as ValueSource,
    chainEndpointSource: cmd.getOptionValueSource('subtensor.chain_endpoint') as ValueSource,
  });
  const chain = await SubtensorChain.connect({ endpoint, log: ctx.log, connectTimeoutMs: 15_000 });
  try {
    const hub = new HubClient({ hubUrl: o['hubUrl'] as string, token: (o['hfToken'] as string | undefined) || undefined, log: ctx.log });
    const r = await publishCompetition({ chain, hub, netuid, owner, competitionJson, evalPath: o['eval'] as string, repo: o['repo'] as string, model, log: ctx.log });
    const json = { pointer: r.pointer, block: r.block, revision: r.revision, competitionId: r.competition.id, baseModel: r.competition.baseModel };
    process.stdout.write(o['json'] ? `${JSON.stringify(json, null, 2)}\n` : `published competition ${r.competition.id}\n  pointer ${r.pointer}\n  block ${r.block}\n  base model ${r.competition.baseModel.repo}@${r.modelRevision}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

export function register(program: Command): void {
  const group = program.command('owner').description('subnet owner tools: publish a competition');
  const publish = group.command('publish').description('validate and upload competition.json + the eval set (+ a model folder), commit the pointer from the owner hotkey');
  publish
    .requiredOption('--competition <file>', 'competition.json')
    .requiredOption('--eval <file>', 'the evaluation set (JSONL chat rows)')
    .requiredOption('--repo <org/name>', 'the hub dataset repo for the competition files')
    .addOption(new Option('--model <dir|repo@rev>', "base model: a folder to upload (to competition.json's baseModel.repo) or REPO@40-hex-REVISION"));
  addWalletOptions(publish);
  addSubtensorOptions(publish);
  addNetuidOption(publish);
  addHubOptions(publish);
  addJsonOption(publish);
  publish.action(action(async (ctx) => publishCommand(ctx, publish)));
}

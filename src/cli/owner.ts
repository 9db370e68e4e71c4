/** `flock owner publish`: publish a competition (files on the hub, pointer on chain). */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseModelSource, publishCompetition } from '../owner/publish.js';
import { FlockError } from '../util/errors.js';
import { connectFromFlags, hubClientFromFlags, walletFromFlags } from './clients.js';
import type { CommandContext } from './context.js';
import {
  addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions, hubSchema, jsonSchema, nonNegativeInt,
  subtensorSchema, text, walletSchema,
} from './options.js';
import { action } from './run.js';

const publishSchema = z.object({
  ...walletSchema.shape, ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape,
  competition: text, eval: text, repo: text, model: text.optional(), netuid: nonNegativeInt,
});

async function publishCommand(ctx: CommandContext<z.output<typeof publishSchema>>): Promise<number> {
  const o = ctx.opts;
  const { netuid } = o;
  let competitionJson: unknown;
  try {
    competitionJson = JSON.parse(readFileSync(o.competition, 'utf8'));
  } catch (err) {
    throw new FlockError(`cannot read ${o.competition}: ${(err as Error).message}`);
  }
  const model = o.model ? await parseModelSource(o.model) : undefined;
  const owner = await (await walletFromFlags(o)).getHotkey();
  if (!owner.pair) throw new FlockError('the owner hotkey has no secret half');
  const chain = await connectFromFlags(ctx);
  try {
    const hub = await hubClientFromFlags(ctx);
    const r = await publishCompetition({ chain, hub, netuid, owner, competitionJson, evalPath: o.eval, repo: o.repo, model, log: ctx.log });
    const json = { pointer: r.pointer, block: r.block, revision: r.revision, competitionId: r.competition.id, baseModel: r.competition.baseModel };
    process.stdout.write(o.json ? `${JSON.stringify(json, null, 2)}\n` : `published competition ${r.competition.id}\n  pointer ${r.pointer}\n  block ${r.block}\n  base model ${r.competition.baseModel.repo}@${r.modelRevision}\n`);
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
  publish.action(action(publishSchema, publishCommand));
}

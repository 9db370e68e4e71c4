/**
 * The command groups of `flock`, loaded lazily: only the group being run is imported, so
 * `flock dataset check` does not pay for loading polkadot, the engine or the hub client.
 * `summary` is what `flock --help` lists for a group without loading it.
 *
 * To add a group: one entry here; the module exports `register(program)`.
 */
import type { Command } from 'commander';

export interface GroupEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register(program: Command): void }>;
}

export const GROUPS: GroupEntry[] = [
  { name: 'dataset', summary: 'check, inspect, convert and de-duplicate JSONL chat datasets', load: () => import('./dataset.js') },
  { name: 'model', summary: 'make small Llama checkpoints and inspect model folders', load: () => import('./model.js') },
  { name: 'eval', summary: 'train a LoRA adapter on a dataset and measure its evaluation loss', load: () => import('./eval.js') },
  { name: 'bench', summary: 'benchmarks', load: () => import('./bench.js') },
  { name: 'hub', summary: 'the local hub, and downloading / uploading files of a hub (Hugging Face by default)', load: () => import('./hub.js') },
  { name: 'wallet', summary: 'create, list, show and regenerate Bittensor wallets (btcli format)', load: () => import('./wallet.js') },
  { name: 'chain', summary: "read the chain: a subnet's metagraph and commitments", load: () => import('./chain.js') },
  { name: 'devnet', summary: 'run a local subtensor-compatible node (offline)', load: () => import('./devnet.js') },
  { name: 'validator', summary: 'run a validator: judge committed datasets by training on them, set weights', load: () => import('./validator.js') },
  { name: 'worker', summary: "run a validator's evaluation jobs from its queue (Redis) on this machine's GPU or CPU", load: () => import('./worker.js') },
  { name: 'localnet', summary: 'run the whole subnet locally and offline, and print the leaderboard', load: () => import('./localnet.js') },
  { name: 'miner', summary: 'submit a dataset, see its status on chain, score it locally as validators will', load: () => import('./miner.js') },
  { name: 'owner', summary: 'subnet owner tools: publish a competition', load: () => import('./owner.js') },
  { name: 'audit', summary: "re-run a validator's published evaluations and check its losses", load: () => import('./audit.js') },
  { name: 'dashboard', summary: "serve a subnet's public dashboard from the chain and the validators' published results", load: () => import('./dashboard.js') },
];

/** Root options that take a value (so their value is not mistaken for a command name). */
const ROOT_OPTIONS_WITH_VALUE = new Set(['--config', '--logging.logging_dir']);

/** The group named on the command line (`flock [root options] GROUP …`, or `flock help GROUP`). */
export function invokedGroup(args: string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      if (ROOT_OPTIONS_WITH_VALUE.has(a)) i++;
      continue;
    }
    words.push(a);
    if (words.length === 2) break;
  }
  return words[0] === 'help' ? words[1] : words[0];
}

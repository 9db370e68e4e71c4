/** `flock dataset …`: the miner's dataset toolkit. */
import { Command } from 'commander';

export function register(program: Command): void {
  program.command('dataset').description('check, inspect, convert and de-duplicate JSONL chat datasets');
}

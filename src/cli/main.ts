/**
 * The `flock` command: one sub-command group per role. Each group lives in its own file and
 * exports `register(program)`; `groups.ts` lists them and loads only the one being run.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { reportError } from './run.js';
import { GROUPS, invokedGroup } from './groups.js';

function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const pkg = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('flock')
    .description('FLockDataset: dataset competitions on Bittensor — miner, owner and validator tools, the training engine, a local subnet.')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--config <file>', 'read option defaults from a JSON or YAML file').env('FLOCK_CONFIG'))
    .addOption(new Option('--logging.debug', 'log at DEBUG').env('BT_LOGGING_DEBUG'))
    .addOption(new Option('--logging.trace', 'log at TRACE (and show stack traces)').env('BT_LOGGING_TRACE'))
    .addOption(new Option('--logging.info', 'log at INFO').env('BT_LOGGING_INFO'))
    .addOption(new Option('--logging.json', 'log JSON records instead of Bittensor lines'))
    .addOption(new Option('--logging.record_log', 'also write logs to --logging.logging_dir'))
    .addOption(new Option('--logging.logging_dir <dir>', 'folder for log files').env('BT_LOGGING_LOGGING_DIR').default('~/.bittensor/miners'))
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false);

  const wanted = invokedGroup(argv.slice(2));
  for (const group of GROUPS) {
    if (group.name === wanted) (await group.load()).register(program);
    else program.command(group.name).description(group.summary); // listed in --help, loaded when run
  }


  // Usage errors exit 2 (commander's default is 1).
  const exit2 = (cmd: Command) => {
    cmd.exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
    cmd.commands.forEach(exit2);
  };
  exit2(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (err) {
    reportError(err);
  }
}

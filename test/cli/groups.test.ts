import { describe, expect, it } from 'vitest';
import { GROUPS, invokedGroup } from '../../src/cli/groups.js';

describe('command groups', () => {
  it('finds the group after root options', () => {
    expect(invokedGroup(['dataset', 'check', 'x.jsonl'])).toBe('dataset');
    expect(invokedGroup(['--logging.debug', 'wallet', 'list'])).toBe('wallet');
    expect(invokedGroup(['--config', 'dataset', 'hub', 'serve'])).toBe('hub');
    expect(invokedGroup(['help', 'chain'])).toBe('chain');
    expect(invokedGroup(['--help'])).toBeUndefined();
  });

  it('every group module loads and registers a command of its name', async () => {
    const { Command } = await import('commander');
    for (const group of GROUPS) {
      const program = new Command('flock');
      (await group.load()).register(program);
      expect(program.commands.map((c) => c.name())).toContain(group.name);
    }
  });
});

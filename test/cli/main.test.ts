import { describe, expect, it } from 'vitest';
import { runFlock } from '../helpers/cli.js';

describe('flock CLI', () => {
  it('prints help with the role groups', () => {
    const r = runFlock(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dataset');
  });

  it('exits 2 on an unknown command', () => {
    const r = runFlock(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it('exits 2 on an unknown option', () => {
    const r = runFlock(['--no-such-flag']);
    expect(r.code).toBe(2);
  });

  it('prints its version', () => {
    const r = runFlock(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

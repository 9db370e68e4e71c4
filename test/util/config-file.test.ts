import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btcliDefaults, loadConfigFile, parseSimpleYaml } from '../../src/util/config-file.js';

describe('config files', () => {
  it('parses nested YAML into dotted keys', () => {
    const v = parseSimpleYaml('wallet:\n  name: alice # comment\n  hotkey: "hk1"\nnetuid: 7\ndebug: true\n');
    expect(v.get('wallet.name')).toBe('alice');
    expect(v.get('wallet.hotkey')).toBe('hk1');
    expect(v.get('netuid')).toBe(7);
    expect(v.get('debug')).toBe(true);
  });

  it('reports the line of a malformed YAML line', () => {
    expect(() => parseSimpleYaml('a: 1\nnot a pair\n', 'c.yml')).toThrow(/c\.yml:2/);
  });

  it('loads JSON and ignores prototype keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flock-cfg-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, '{"wallet":{"name":"bob"},"__proto__":{"x":1},"hub-url":"http://h"}');
    const v = loadConfigFile(f);
    expect(v.get('wallet.name')).toBe('bob');
    expect(v.get('hub-url')).toBe('http://h');
    expect([...v.keys()].some((k) => k.includes('proto'))).toBe(false);
  });

  it('maps btcli config keys onto our flags', () => {
    const v = btcliDefaults(parseSimpleYaml('network: test\nwallet_name: w\nwallet_hotkey: h\nwallet_path: /p\n'));
    expect(Object.fromEntries(v)).toEqual({ 'subtensor.network': 'test', 'wallet.name': 'w', 'wallet.hotkey': 'h', 'wallet.path': '/p' });
  });

  it('a missing --config file is a usage error', () => {
    expect(() => loadConfigFile('/nonexistent/flock.json')).toThrow(/not found/);
  });
});

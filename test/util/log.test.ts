import { describe, expect, it } from 'vitest';
import { createLogger, formatRecord, formatTimestamp } from '../../src/util/log.js';
import { registerSecret } from '../../src/util/redact.js';

function capture(level: Parameters<typeof createLogger>[0]['level'], json = false) {
  const lines: string[] = [];
  const log = createLogger({ level, json, stream: { write: (l: string) => lines.push(l) } });
  return { log, lines };
}

describe('log', () => {
  it('formats timestamps as YYYY-MM-DD HH:MM:SS', () => {
    expect(formatTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5))).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('writes Bittensor lines with level labels and fields', () => {
    const { log, lines } = capture('trace');
    log.success('weights set', { block: 120 });
    log.warning('slow hub');
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \| SUCCESS \| weights set block=120\n$/);
    expect(lines[1]).toMatch(/ \| WARNING \| slow hub\n$/);
  });

  it('drops lines below the level', () => {
    const { log, lines } = capture('warning');
    log.info('hidden');
    log.debug('hidden');
    log.error('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('| ERROR | shown');
  });

  it('child loggers carry their fields', () => {
    const { log, lines } = capture('info');
    log.child({ uid: 7 }).info('evaluating');
    expect(lines[0]).toContain('| INFO | evaluating uid=7');
  });

  it('keeps JSON records with --logging.json', () => {
    const { log, lines } = capture('info', true);
    log.info('hello', { n: 1 });
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec.msg).toBe('hello');
    expect(rec.n).toBe(1);
  });

  it('never writes secrets', () => {
    const { log, lines } = capture('info');
    registerSecret('s3cr3t-password-value');
    log.info('token is hf_abcdefghijklmnop and pw s3cr3t-password-value', { hfToken: 'hf_zzzzzzzzzzzz' });
    expect(lines[0]).not.toContain('hf_abcdefghijklmnop');
    expect(lines[0]).not.toContain('hf_zzzzzzzzzzzz');
    expect(lines[0]).not.toContain('s3cr3t-password-value');
  });

  it('miner text in messages and fields cannot add lines or drive the terminal', () => {
    const { log, lines } = capture('info');
    const repo = 'miners/x\x1b[2J\x1b[H\r\n2026-01-01 00:00:00 | SUCCESS | weights set\u202e';
    log.warning(`uid 3: dataset rejected: ${repo}`, { repo, commitment: `${repo}:1:abc`, reason: 'a\u009bb' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(lines[0]).toMatch(/ \| WARNING \| uid 3: dataset rejected: miners\/x\\x1b\[2J\\x1b\[H\\r\\n2026-01-01 00:00:00 \| SUCCESS \| weights set\\u202e /);
    expect(lines[0]).toContain('reason=a\\x9bb');
  });

  it('--logging.json escapes them too and stays valid JSON', () => {
    const { log, lines } = capture('info', true);
    log.info('x\u009b\u202e\x1b', { repo: 'r\u2028' });
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'x\u009b\u202e\x1b', repo: 'r\u2028' });
  });

  it('formatRecord quotes values with spaces', () => {
    expect(formatRecord({ level: 30, time: 0, msg: 'm', reason: 'not valid' })).toContain('reason="not valid"');
  });
});

/**
 * Wall time of `flock localnet` (default and --quick) through the built CLI, as a user runs it,
 * with the machine's load average (the CPU may be shared). Prints figures; asserts nothing.
 *
 *   npm run build && npx tsx bench/localnet.ts [--quick-only]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/flock.js', import.meta.url));
const runs: Array<[string, string[]]> = [['--quick', ['--quick']]];
if (!process.argv.includes('--quick-only')) runs.push(['default', []]);

console.log(`cores ${availableParallelism()}, load average before ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, flags] of runs) {
  const dir = mkdtempSync(join(tmpdir(), 'flock-localnet-bench-'));
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, 'localnet', ...flags, '--json', '--dir', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    console.log(`${name}: failed (exit ${r.status}): ${String(r.stderr).slice(-2000)}`);
    continue;
  }
  const report = JSON.parse(r.stdout) as {
    seconds: Record<string, number>; miners: Array<{ kind: string; incentive: number; evalLoss: number | null }>; validators: Array<{ validatorTrust: number }>;
  };
  const ranking = [...report.miners].sort((a, b) => b.incentive - a.incentive).map((m) => `${m.kind} ${m.incentive.toFixed(3)}`).join(', ');
  console.log(`${name}: ${seconds.toFixed(1)} s wall (in-run ${report.seconds['total']} s: ${Object.entries(report.seconds).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`  load average after ${loadavg().map((l) => l.toFixed(2)).join(' ')}; validator trust ${report.validators.map((v) => v.validatorTrust.toFixed(3)).join(' ')}`);
  console.log(`  incentive ranking: ${ranking}`);
}

/**
 * The public dashboard (`flock dashboard`, `flock localnet --serve`): a web app over the chain
 * and the validators' published results, reading nothing else.
 *
 * @example
 * const d = await startDashboard({ chain, hub, netuid: 1, port: 8090 });
 * console.log(d.url); // http://127.0.0.1:8090
 * await d.close();
 */
import type { Chain } from '../chain/chain.js';
import type { HubClient } from '../hub/index.js';
import type { Logger } from '../util/log.js';
import { startDashboardServer } from './server.js';
import { DashboardSource } from './source.js';

export { DashboardSource, type Snapshot } from './source.js';
export { startDashboardServer, type DashboardServer } from './server.js';

export interface DashboardOptions {
  chain: Chain;
  hub: HubClient;
  netuid: number;
  host?: string;
  port?: number;
  log?: Logger;
  /** How often results repos and the competition are re-checked (default 60 s); the chain is read on every block. */
  resultsEveryMs?: number;
}

export interface Dashboard {
  url: string;
  source: DashboardSource;
  close(): Promise<void>;
}

/**
 * Serve at once (pages say what is still loading) and read everything in the background; the
 * returned promise resolves when the server listens, before the first read has finished.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const source = new DashboardSource({ chain: o.chain, hub: o.hub, netuid: o.netuid, log: o.log, resultsEveryMs: o.resultsEveryMs });
  const server = await startDashboardServer({ source, host: o.host, port: o.port, log: o.log });
  const started = source.start().catch((err: unknown) => o.log?.warning(`dashboard start: ${String(err)}`));
  return {
    url: server.url,
    source,
    async close() {
      await server.close();
      await started;
      await source.close();
    },
  };
}

/**
 * `@polkadot/api` reports connection trouble through its own logger, which writes straight to the
 * console (`console.error(date, '          API-WS:', 'disconnected from …')`) on every reconnect
 * attempt: raw lines outside the Bittensor format, twice a second while a node is down. While a
 * client is open, those lines go to its logger at debug level instead; the client itself reports
 * the drop and the return once each (client.ts). Everything else written to the console passes
 * through untouched.
 */
import type { Logger } from '../../util/log.js';

type ConsoleMethod = 'error' | 'warn' | 'log';
const METHODS: readonly ConsoleMethod[] = ['error', 'warn', 'log'];

/** The padded origin tag @polkadot/util's logger puts second: `API-WS:`, `RPC-CORE:`, … */
const POLKADOT_TAG = /^\s*[A-Z][A-Z0-9-]*:$/;

const routes: Logger[] = [];
let originals: Record<ConsoleMethod, (...args: unknown[]) => void> | null = null;

function install(): void {
  originals = { error: console.error, warn: console.warn, log: console.log };
  for (const method of METHODS) {
    const original = originals[method];
    console[method] = (...args: unknown[]) => {
      const log = routes[routes.length - 1];
      if (log && args.length >= 2 && typeof args[1] === 'string' && POLKADOT_TAG.test(args[1])) {
        log.debug(`${args[1].trim()} ${args.slice(2).map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
      } else original.apply(console, args);
    };
  }
}

/**
 * Send @polkadot's console lines to `log` (the most recently routed open client wins) until the
 * returned function is called.
 */
export function routeLibraryLogs(log: Logger): () => void {
  if (!originals) install();
  routes.push(log);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    routes.splice(routes.lastIndexOf(log), 1);
    if (routes.length === 0 && originals) {
      for (const method of METHODS) console[method] = originals[method];
      originals = null;
    }
  };
}

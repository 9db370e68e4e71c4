import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers. `unit` (`npm test`): in-process tests of the code, the whole tier well under a minute
 * on two cores. `e2e` (`npm run test:e2e`): the rest — tests that run more than this process's
 * code: the CLI as a child process (from dist/, rebuilt first when src/ is newer:
 * test/helpers/build-cli.ts), a devnet node or a local hub on a loopback port with clients talking
 * to it, the validator loop, the PyTorch oracle (python3-torch), a WebGPU device (lavapipe in CI);
 * and the few in-process tests that take many seconds. `vitest run` (`npm run test:all`,
 * scripts/test.sh) runs both, each file once. A new test file is a unit test unless listed here.
 */
const E2E = [
  // the CLI in a child process
  'test/cli/{chain,dataset,eval,hub,main,model,owner,validator,wallet,worker}.test.ts',
  'test/chain/devnet/cli.test.ts',
  'test/localnet/localnet.test.ts',
  'test/miner/{score,submit}.test.ts',
  'test/owner/{publish,rounds}.test.ts',
  // a devnet node over WebSocket
  'test/chain/devnet/{chain,rpc}.test.ts',
  'test/chain/devnet/pallets/*.test.ts',
  'test/chain/subtensor/subtensor-chain.test.ts',
  'test/validator/blocks.test.ts',
  // the local hub over HTTP
  'test/hub/client/hub-client.test.ts',
  'test/hub/server/server.test.ts',
  'test/validator/{dataset-reader,intake-thread}.test.ts',
  'test/published/{read,history,schedule}.test.ts',
  'test/audit/audit.test.ts',
  'test/dashboard/browser.test.ts', // headless Chromium against a devnet, a local hub and a validator
  // a redis-server with workers and the local hub
  'test/evaluation/queue.test.ts',
  'test/util/redis-server.test.ts',
  // the validator loop against both
  'test/validator/{faults,publisher,remote-evaluations,validator}.test.ts',
  // the PyTorch oracle
  'test/engine/{evaluate,train}.test.ts',
  // a WebGPU device
  'test/engine/backend/webgpu*.test.ts',
  // slow in-process: btwallet's Argon2i at its real cost (10-17 s)
  'test/chain/wallet/wallet.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores on the CI machine: two files at a time.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...E2E] } },
      { extends: true, test: { name: 'e2e', include: E2E, globalSetup: ['test/helpers/build-cli.ts'] } },
    ],
  },
});

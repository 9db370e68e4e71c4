/** A results document with every kind of field: an evaluated uid (one NaN loss), a zeroed one with hostile text. */
import { RESULTS_FORMAT, type ResultsDocument } from '../../src/protocol/results.js';

export function sampleDocument(over: Partial<ResultsDocument> = {}): ResultsDocument {
  const receipt = {
    engine: 'flock-engine', engineVersion: '2.0.0', backend: 'cpu', kernels: { matmul: 'wasm-simd', attention: 'wasm-simd' }, device: null,
    compute: 'flock-engine 2.0.0 · cpu · attention=wasm-simd matmul=wasm-simd', modelHash: 'm'.repeat(64), datasetHash: 'a'.repeat(64),
    evalSetHash: 'e'.repeat(64), recipeHash: 'r'.repeat(64), seed: 7, adapterHash: 'd'.repeat(64), droppedContaminatedRows: 0,
  };
  return {
    format: RESULTS_FORMAT, netuid: 1, validator: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
    competition: { id: '1', repoId: 'flock/competition-1', revision: 'b'.repeat(40) }, block: 120, round: 3,
    compute: receipt.compute, createdAt: '2026-12-04T12:00:00.000Z',
    base: { evalLoss: 6.5, losses: [6.25, 6.75], receipt: { ...receipt, datasetHash: null, adapterHash: null } },
    uids: [
      {
        uid: 2, hotkey: '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', commitment: `miners/good:1:${'c'.repeat(40)}`, commitmentBlock: 40,
        repoId: 'miners/good', revision: 'c'.repeat(40), datasetIdentity: 'a'.repeat(64), evalLoss: 4.5, losses: [4.25, 'NaN'],
        winRate: 1, score: 0.7, weight: 0.6, stage: null, reason: null, receipt,
      },
      {
        uid: 3, hotkey: '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y', commitment: 'hello \u001b[2J', commitmentBlock: 41,
        repoId: null, revision: null, datasetIdentity: null, evalLoss: null, losses: null, winRate: 0, score: 0, weight: 0,
        stage: 'commitment', reason: 'commitment "hello \\u001b[2J" has 1 ":"-separated parts', receipt: null,
      },
    ],
    ...over,
  };
}

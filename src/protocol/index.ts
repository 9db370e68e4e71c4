/**
 * The protocol miners and validators agree on (docs/protocol.md): commitments, the competition
 * pointer and competition.json (protocol 1 and 2) and its sealed rounds, the recipe schema, and scoring: every verdict
 * validators, the miner preview and the dataset tools give. Pure: no I/O.
 */
export * from './result.js';
export * from './commitment.js';
export * from './recipe.js';
export * from './competition.js';
export * from './scoring.js';
export * from './results.js';
export * from './rounds.js';

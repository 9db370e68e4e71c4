/**
 * The protocol miners and validators agree on (docs/protocol.md): commitments, the competition
 * pointer and competition.json, the recipe schema, and scoring v1. Pure: no I/O.
 */
export * from './result.js';
export * from './commitment.js';
export * from './recipe.js';
export * from './competition.js';
export * from './scoring.js';
export * from './results.js';

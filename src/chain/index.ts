/** The chain: the `Chain` interface, Bittensor wallets, and the subtensor client. */
export * from './chain.js';
export * from './wallet/index.js';
export * from './subtensor/index.js';
export * from './results-signature.js';

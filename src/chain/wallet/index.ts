/** Bittensor wallets: keys, keyfiles, encryption, the on-disk layout. */
export * from './keypair.js';
export * from './encryption.js';
export * from './keyfile.js';
export * from './prompt.js';
export * from './wallet.js';

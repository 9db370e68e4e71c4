/**
 * The hub API the rest of FLockDataset uses (validator, miner, localnet):
 * - `HubClient` — create repos, upload files in one commit (→ 40-hex SHA), resolve revisions,
 *   list files, download files (or a whole snapshot) at a revision into the Hugging Face cache
 *   with a byte cap.
 * - `startHubServer` — the local hub (same API as huggingface.co for those calls).
 * - one error class per failure mode.
 */
export { HubClient, DEFAULT_HUB_URL } from './client/hub-client.js';
export type { HubClientOptions, RepoParams, UploadFile, UploadParams, RepoFile, DownloadParams, RepoCommit } from './client/hub-client.js';
export { defaultCacheDir, HubCache } from './client/cache.js';
export { startHubServer } from './server/server.js';
export type { HubServer, HubServerOptions } from './server/server.js';
export { parseTokenSpec, type HubToken } from './server/auth.js';
export {
  HubError, InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, EntryNotFoundError, RepoExistsError,
  UnauthorizedError, HubUnavailableError, HubTimeoutError, DownloadCapExceededError, IntegrityError, HubRequestError,
  isTransientHubError, type IntegrityMismatch,
} from './errors.js';
export { validateRepoName, validateFilePath, validateRevision, FULL_SHA, type RepoRef, type RepoType } from './validate.js';

/**
 * The `fetch` our HubClient hands to `@huggingface/hub`: it adds the token (only for the hub's
 * own origin), bounds every request with a timeout (to response headers, then between body
 * chunks), retries network errors and 5xx/429 with exponential backoff a bounded number of
 * times (never 4xx), and turns failures into our typed errors — so every library call gets the
 * same policy and no error text ever carries the token.
 */
import {
  HubError, HubRequestError, HubTimeoutError, HubUnavailableError, EntryNotFoundError,
  RepoExistsError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError,
} from '../errors.js';
import { redactSecrets } from '../../util/redact.js';
import type { Logger } from '../../util/log.js';
import { STREAM_BODY_BYTES, sendBlob } from './send-blob.js';

export interface FetchPolicy {
  hubUrl: string;
  token?: string;
  /** Time allowed for response headers, and between two body chunks (ms). */
  timeoutMs: number;
  /** Retries after the first attempt on network errors, timeouts, 5xx and 429. */
  retries: number;
  /** First backoff delay (ms); doubles each retry, with jitter. */
  retryBaseMs: number;
  log: Logger;
}

/** Upload bodies get extra time for headers: the hub answers only after the whole body arrived. */
const ASSUMED_MIN_UPLOAD_BYTES_PER_S = 1024 * 1024;
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

export function createPolicyFetch(policy: FetchPolicy): typeof fetch {
  const hubOrigin = new URL(policy.hubUrl).origin;
  return async function policyFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    if (url.origin === hubOrigin) {
      if (policy.token) headers.set('Authorization', `Bearer ${policy.token}`);
      else if (/^Bearer (undefined)?$/.test(headers.get('Authorization') ?? '')) headers.delete('Authorization');
    } else {
      // Never send the hub token to another host (an LFS store, a CDN); other hosts' own
      // credentials (e.g. a Xet CAS token the library sets) pass through.
      const auth = headers.get('Authorization') ?? '';
      if (/^Bearer (undefined)?$/.test(auth) || (policy.token && auth.includes(policy.token))) headers.delete('Authorization');
    }
    const what = `${method} ${url.origin}${url.pathname}`;
    const bodySize = init.body instanceof Blob ? init.body.size : typeof init.body === 'string' ? init.body.length : 0;
    const headerTimeout = policy.timeoutMs + Math.ceil((bodySize / ASSUMED_MIN_UPLOAD_BYTES_PER_S) * 1000);
    // A commit or repo creation that reached the hub may have happened: retry those only when the
    // connection was refused (nothing was sent).
    const idempotent = !(method === 'POST' && (/\/commit\//.test(url.pathname) || url.pathname.endsWith('/repos/create')));

    let lastError: HubError | undefined;
    for (let attempt = 0; attempt <= policy.retries; attempt++) {
      if (attempt > 0) {
        const delay = policy.retryBaseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
        policy.log.debug('hub request retry', { request: what, attempt, delayMs: Math.round(delay), reason: lastError?.message });
        await sleep(delay, init.signal ?? undefined);
      }
      const controller = new AbortController();
      const onAbort = () => controller.abort(init.signal?.reason);
      init.signal?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      let timer = setTimeout(() => { timedOut = true; controller.abort(); }, headerTimeout);
      timer.unref();
      const cleanup = () => { clearTimeout(timer); init.signal?.removeEventListener('abort', onAbort); };
      let res: Response;
      try {
        res = init.body instanceof Blob && init.body.size >= STREAM_BODY_BYTES
          ? await sendBlob(url, method, headers, init.body, controller.signal)
          : await fetch(url, { ...init, method, headers, signal: controller.signal, redirect: 'follow' });
      } catch (err) {
        cleanup();
        if (init.signal?.aborted) throw err;
        const code = errorCode(err);
        lastError = timedOut
          ? new HubTimeoutError(`Hub did not answer ${what} within ${headerTimeout} ms (after ${attempt + 1} attempt${attempt ? 's' : ''}).`, { hint: 'The hub is slow or overloaded; try again later or raise the timeout.' })
          : new HubUnavailableError(`Hub unreachable for ${what}: ${code ?? redactSecrets((err as Error).message)} (after ${attempt + 1} attempt${attempt ? 's' : ''}).`, { hint: 'Check --hub-url / HF_ENDPOINT and that the hub is running, or try again later.' });
        if (!idempotent && code !== 'ECONNREFUSED') throw lastError;
        continue;
      }
      if (RETRY_STATUSES.has(res.status)) {
        cleanup();
        await res.body?.cancel().catch(() => undefined);
        lastError = new HubUnavailableError(`Hub answered ${res.status} to ${what} (after ${attempt + 1} attempt${attempt ? 's' : ''}).`, { hint: 'The hub is failing; try again later.' });
        if (!idempotent) throw lastError;
        continue;
      }
      if (!res.ok && res.status !== 304) {
        cleanup();
        throw await errorFor(res, what);
      }
      if (!res.body) {
        cleanup();
        return res;
      }
      // Keep the timeout alive while the caller reads the body: reset on each chunk.
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { timedOut = true; controller.abort(); }, policy.timeoutMs);
        timer.unref(); // an unread body must not keep the process alive
      };
      idle();
      const guarded = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) { idle(); ctl.enqueue(chunk); },
        flush() { cleanup(); },
      }));
      const wrapped = new Response(guarded, { status: res.status, statusText: res.statusText, headers: res.headers });
      Object.defineProperty(wrapped, 'url', { value: res.url });
      return wrapped;
    }
    throw lastError!;
  };
}

/** Whether a body-read failure came from our idle timeout (the stream is aborted). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function errorFor(res: Response, what: string): Promise<HubError> {
  let detail = '';
  try {
    const text = (await res.text()).slice(0, 2000);
    try {
      const json = JSON.parse(text) as { error?: unknown; message?: unknown };
      detail = String(json.error ?? json.message ?? '');
    } catch {
      detail = text.trim().split('\n')[0] ?? '';
    }
  } catch {
    // no body
  }
  detail = redactSecrets(detail.slice(0, 300));
  const code = res.headers.get('X-Error-Code');
  const msg = `${what} → ${res.status}${detail ? `: ${detail}` : ''}`;
  if (code === 'RepoNotFound') return new RepoNotFoundError(msg);
  if (code === 'RevisionNotFound') return new RevisionNotFoundError(msg);
  if (code === 'EntryNotFound') return new EntryNotFoundError(msg);
  if (code === 'GatedRepo') return new UnauthorizedError(msg, { hint: 'This repo is gated: accept its terms on the Hub with your account, and pass that account\'s token (HF_TOKEN).' });
  if (res.status === 401 || res.status === 403) return new UnauthorizedError(msg, { hint: 'Pass a token (HF_TOKEN or --hf-token) that has write access to this namespace.' });
  if (res.status === 409) return new RepoExistsError(msg);
  return new HubRequestError(msg, res.status);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    const t = setTimeout(ok, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); fail(signal.reason); }, { once: true });
  });
}

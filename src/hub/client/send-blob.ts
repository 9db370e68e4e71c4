/**
 * Send a large Blob (a file opened with `openAsBlob`) as a request body through `node:http(s)`,
 * streamed with backpressure. Node's fetch (undici) holds a Blob or stream request body in memory
 * as it sends it (measured: a 300 MB upload raised the client's peak RSS by ~300 MB; this path
 * keeps it flat), so the fetch policy routes big LFS uploads here.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** Bodies at least this large take the streaming path. */
export const STREAM_BODY_BYTES = 8 * 1024 * 1024;

export async function sendBlob(url: URL, method: string, headers: Headers, body: Blob, signal: AbortSignal): Promise<Response> {
  const outgoing: Record<string, string> = {};
  headers.forEach((value, key) => { outgoing[key] = value; });
  outgoing['content-length'] = String(body.size);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, { method, headers: outgoing, signal });
  const response = new Promise<IncomingMessage>((ok, fail) => {
    req.once('response', ok);
    req.once('error', fail);
  });
  // A server may answer (e.g. 4xx) before reading the whole body; the answer wins then.
  const sent = pipeline(Readable.fromWeb(body.stream() as NodeReadableStream<Uint8Array>), req).catch((err: unknown) => err);
  const res = await response;
  void sent;
  const responseHeaders = new Headers();
  for (const [key, value] of Object.entries(res.headers)) {
    if (value !== undefined) responseHeaders.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const status = res.statusCode ?? 0;
  const nullBody = status === 204 || status === 304 || method === 'HEAD';
  if (nullBody) res.resume();
  return new Response(nullBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers: responseHeaders });
}

/**
 * Who may write to the local hub. Tokens are given as `NAME:TOKEN` (repeatable); a token owns
 * the namespaces of every NAME it was given for. Reads need no token.
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { registerSecret } from '../../util/redact.js';
import { HttpError } from './http.js';

export interface HubToken { name: string; token: string }

/** Parse `NAME:TOKEN` (the `--token` flag). */
export function parseTokenSpec(spec: string): HubToken {
  const colon = spec.indexOf(':');
  const name = colon > 0 ? spec.slice(0, colon) : '';
  const token = colon > 0 ? spec.slice(colon + 1) : '';
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name) || token.length < 8 || /\s/.test(token)) {
    throw new Error('expected NAME:TOKEN (a namespace name, a colon, and a token of at least 8 characters without spaces)');
  }
  return { name, token };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class TokenRegistry {
  private readonly owners: Array<{ digest: Buffer; names: Set<string> }> = [];

  constructor(tokens: HubToken[]) {
    for (const t of tokens) {
      registerSecret(t.token);
      const d = digest(t.token);
      const found = this.owners.find((o) => timingSafeEqual(o.digest, d));
      if (found) found.names.add(t.name);
      else this.owners.push({ digest: d, names: new Set([t.name]) });
    }
  }

  /** The namespaces the request's bearer token owns; null without a token; 401 for an unknown one. */
  namesOf(req: IncomingMessage): Set<string> | null {
    const header = req.headers.authorization;
    if (!header) return null;
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'Authorization header must be "Bearer <token>"', 'InvalidToken');
    const d = digest(m[1]!);
    const found = this.owners.find((o) => timingSafeEqual(o.digest, d));
    if (!found) throw new HttpError(401, 'Invalid credentials in Authorization header', 'InvalidToken');
    return found.names;
  }

  /** The writer's name when the request's token owns `namespace`; 401 or 403 otherwise. */
  requireWrite(req: IncomingMessage, namespace: string): string {
    const names = this.namesOf(req);
    if (!names) throw new HttpError(401, 'A token is required to write (Authorization: Bearer <token>)', 'MissingToken');
    if (!names.has(namespace)) throw new HttpError(403, `This token has no write access to namespace "${namespace}"`, 'Forbidden');
    return namespace;
  }
}

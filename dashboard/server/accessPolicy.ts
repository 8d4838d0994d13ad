/**
 * Who may use the dashboard's API. On a loopback address only local programs reach it, so no
 * token is needed (one may still be set); on any other address the API answers only with the
 * token, and there is no way to turn that off. Two browser attacks on a local server are
 * stopped as well: DNS rebinding (a page on evil.example whose name now resolves to
 * 127.0.0.1 sends `Host: evil.example`) and cross-site requests (a form posted from another
 * origin to /api/alerts/x/ack carries that origin in `Origin`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../../core/errors';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A token for an exposed dashboard: 192 random bits, URL-safe. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Minimum length of a token given by the user: shorter ones are guessable over a network. */
export const MIN_TOKEN_LENGTH = 16;

/** The token the dashboard will require (undefined: none), checked once at start-up. */
export function resolveToken(host: string, token: string | undefined): string | undefined {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError('dashboard.token', `must be at least ${MIN_TOKEN_LENGTH} characters, got ${token.length}`);
  }
  if (token !== undefined) return token;
  return isLoopbackHost(host) ? undefined : generateToken();
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal in constant time (digests have one length, so the length of the token is not leaked either). */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer <token>`, or `?token=` (EventSource cannot set headers). */
export function tokenOf(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return url.searchParams.get('token') ?? undefined;
}

function hostName(hostHeader: string): string {
  // `[::1]:8080` -> `[::1]`, `localhost:8080` -> `localhost`
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader);
  return match?.[1] ?? hostHeader;
}

export type AccessDecision = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

export interface AccessPolicy {
  /** the token required, if any */
  token: string | undefined;
  /** the address the server listens on */
  boundHost: string;
}

export function checkAccess(policy: AccessPolicy, request: IncomingMessage, url: URL): AccessDecision {
  const hostHeader = request.headers.host ?? '';
  if (policy.token === undefined) {
    // Only reachable from this machine, but a browser can be made to send requests here.
    if (!isLoopbackHost(hostName(hostHeader))) return { allowed: false, status: 403, reason: `Host "${hostHeader}" is not a loopback name` };
  } else {
    const given = tokenOf(request, url);
    if (given === undefined) return { allowed: false, status: 401, reason: 'a token is required (Authorization: Bearer <token> or ?token=)' };
    if (!tokensMatch(given, policy.token)) return { allowed: false, status: 401, reason: 'wrong token' };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return { allowed: false, status: 403, reason: `malformed Origin "${origin}"` };
    }
    if (originHost !== hostHeader) return { allowed: false, status: 403, reason: `cross-origin request from ${origin}` };
  } else if (origin === 'null') {
    return { allowed: false, status: 403, reason: 'request from an opaque origin' };
  }
  return { allowed: true };
}

/**
 * Credentials inside URLs (`mqtt://user:secret@host`, `redis://user:secret@host`,
 * `postgres://host/db?password=secret`): taken out before a URL is printed or logged, and
 * separated from the URL before it is handed to a library, so the secret travels only where
 * it is needed. Depends on nothing, so every layer may use it.
 */
export const REDACTED = 'REDACTED';

/** Query parameters that carry secrets (libpq's `password`, `sslpassword`; tokens). */
const SECRET_PARAMETER = /pass|secret|token/i;

export interface UrlCredentials {
  /** the URL without user name and password */
  url: string;
  username: string | undefined;
  password: string | undefined;
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // a stray '%': the characters as written
  }
}

/** `mqtt://user:s%40cret@host:1883` → `{ url: 'mqtt://host:1883', username: 'user', password: 's@cret' }`. */
export function splitUrlCredentials(url: string): UrlCredentials {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, username: undefined, password: undefined };
  }
  if (parsed.username === '' && parsed.password === '') return { url, username: undefined, password: undefined };
  const username = parsed.username === '' ? undefined : decoded(parsed.username);
  const password = parsed.password === '' ? undefined : decoded(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), username, password };
}

/** The URL with its password (userinfo and secret-looking query parameters) replaced by REDACTED. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // not a URL we can parse: hide everything between "scheme://user:" and the last '@'
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[\s\S]*@/i, `$1${REDACTED}@`);
  }
  let changed = false;
  if (parsed.password !== '') {
    parsed.password = REDACTED;
    changed = true;
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMETER.test(name)) {
      parsed.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? parsed.toString() : url;
}

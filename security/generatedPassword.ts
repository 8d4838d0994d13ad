import { randomBytes } from 'node:crypto';

/**
 * A random password from the OS's CSPRNG: 24 bytes (192 bits) as base64url, 32 characters of
 * [A-Za-z0-9_-]. That alphabet needs no escaping anywhere a password goes: a Mosquitto password
 * file (`user:password` lines), a URL's userinfo, a Redis ACL rule, a shell, JSON.
 */
export function generatePassword(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

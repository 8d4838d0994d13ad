/**
 * A PostgreSQL SCRAM-SHA-256 password verifier, computed here the way psql's \password and
 * libpq's PQencryptPasswordConn do, so `CREATE ROLE ... PASSWORD '<verifier>'` never carries the
 * plain password: not over the wire, not into the server log (log_statement = 'ddl' or an error
 * message quoting the statement), not into pg_stat_statements. PostgreSQL stores a verifier it
 * is given as is (RFC 5802 / RFC 7677; format `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { SluiceError } from '../core/errors';

/** PostgreSQL's default (scram_iterations) */
export const SCRAM_ITERATIONS = 4096;

/**
 * Printable ASCII only: for those characters SASLprep (which the server applies to a plain
 * password before hashing) changes nothing, so the verifier matches what the client sends.
 */
const SASLPREP_IDENTITY = /^[\x20-\x7e]+$/;

export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!SASLPREP_IDENTITY.test(password)) {
    throw new SluiceError('CONFIG_INVALID', 'PostgreSQL password: use printable ASCII characters only (generated passwords are)');
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

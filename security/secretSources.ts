/**
 * Where secrets come from: a file named on the command line, or the environment (`NAME_FILE`
 * holding a path, as Docker and Kubernetes secrets are mounted, or `NAME` holding the value).
 * Never a plain command-line value: argv is world-readable (/proc/<pid>/cmdline, `ps`).
 * Errors name the flag, variable and file, never the content.
 */
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { writeFileAtomically } from './privateFiles';

export interface SecretSource {
  /** a path given on the command line, and the flag that gave it (for errors) */
  file?: { path: string; flag: string };
  /** NAME: the secret itself; NAME_FILE: a path to it */
  envVar?: string;
  env?: NodeJS.ProcessEnv;
}

/** A secret file's content without its one trailing newline (editors and `echo` add one). */
export function readSecretFile(file: string, path: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(path, `cannot read secret file ${file} (${code})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new ConfigError(path, `secret file ${file} is empty`);
  if (/[\r\n]/.test(secret)) throw new ConfigError(path, `secret file ${file} has more than one line`);
  return secret;
}

/**
 * The secret from the first source that has one: the flag's file, then `$NAME_FILE`, then
 * `$NAME`; undefined when none is set.
 */
export function readSecret(source: SecretSource): string | undefined {
  const env = source.env ?? process.env;
  if (source.file !== undefined) return readSecretFile(source.file.path, source.file.flag);
  if (source.envVar === undefined) return undefined;
  const fileVariable = `${source.envVar}_FILE`;
  const file = env[fileVariable];
  if (file !== undefined && file !== '') return readSecretFile(file, `$${fileVariable}`);
  const value = env[source.envVar];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The secret in `file`, or a new random one written there (mode 0600) when the file does not
 * exist yet: provisioning commands create a role's password once, and reuse it after.
 */
export function readOrCreateSecretFile(file: string, path: string, create: () => string): { secret: string; created: boolean } {
  if (fs.existsSync(file)) return { secret: readSecretFile(file, path), created: false };
  const secret = create();
  writeFileAtomically(file, `${secret}\n`);
  return { secret, created: true };
}

/**
 * Files that hold secrets: created with mode 0600 from the first byte (never written 0644 and
 * chmod-ed afterwards, which leaves a window where anyone can read them), replaced atomically
 * (write a temporary file in the same directory, then rename), so a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

/** Writes `content` to `file` with `mode`, replacing any file there atomically. */
export function writeFileAtomically(file: string, content: string | Buffer, mode: number = PRIVATE_FILE_MODE): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': fail rather than follow a file (or symlink) someone placed at the temporary name
  const fd = fs.openSync(temporary, 'wx', mode);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  // the umask can only clear bits: make the mode exact (0644 for public files under umask 077)
  fs.chmodSync(temporary, mode);
  fs.renameSync(temporary, file);
}

/** Creates `dir` (and parents) and sets its mode exactly, also when it already existed. */
export function ensureDirectory(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  fs.chmodSync(dir, mode);
}

/** The permission bits of a file (e.g. 0o600), for checks and tests. */
export function fileMode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

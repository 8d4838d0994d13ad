/**
 * Mosquitto's password file (`password_file`), hashed by Mosquitto's own tool: the plain
 * `user:password` lines are written to a private (0600) temporary file next to the target,
 * `mosquitto_passwd -U` hashes it in place (PBKDF2-SHA512, `$7$` lines in Mosquitto 2), and the
 * result is renamed over the target. Passwords never appear on a command line (`mosquitto_passwd
 * -b` would put them in argv, readable by every user), and the temporary file is removed
 * whatever happens.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../core/errors';
import { findExecutable } from '../infra/processControl';
import { checkMqttIdentity } from './mqttIdentity';
import { PRIVATE_FILE_MODE } from './privateFiles';

const execFileAsync = promisify(execFile);

export interface MqttUser {
  username: string;
  password: string;
}

/** Mosquitto 2's hashed line: `user:$7$<iterations>$<salt>$<hash>`. */
const HASHED_LINE = /^([^:]+):\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;

export function mosquittoPasswdPath(): string {
  const tool = findExecutable('mosquitto_passwd');
  if (tool === undefined) {
    throw new SluiceError('SERVICE_UNAVAILABLE', 'mosquitto_passwd is not installed (it comes with Mosquitto; Debian: apt-get install mosquitto)', { retriable: false });
  }
  return tool;
}

/** Writes `file` with one hashed line per user; returns the user names in file order. */
export async function writeMosquittoPasswordFile(file: string, users: readonly MqttUser[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const [index, user] of users.entries()) {
    checkMqttIdentity(user.username, `users[${index}].username`);
    if (seen.has(user.username)) throw new SluiceError('CONFIG_INVALID', `users[${index}]: user ${user.username} appears twice`);
    seen.add(user.username);
    // a newline or NUL would start another line of the file
    if (user.password === '' || /[\r\n\0]/.test(user.password)) {
      throw new SluiceError('CONFIG_INVALID', `users[${index}] (${user.username}): a password must be non-empty and on one line`);
    }
  }
  const tool = mosquittoPasswdPath();
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.plain`);
  try {
    const fd = fs.openSync(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      fs.writeFileSync(fd, users.map((user) => `${user.username}:${user.password}\n`).join(''));
    } finally {
      fs.closeSync(fd);
    }
    try {
      await execFileAsync(tool, ['-U', temporary]);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new SluiceError('UNKNOWN', `mosquitto_passwd -U failed${stderr === '' ? '' : `: ${stderr}`}`, { cause: error });
    }
    const lines = fs.readFileSync(temporary, 'utf8').split('\n').filter((line) => line !== '');
    const names = lines.map((line) => HASHED_LINE.exec(line)?.[1]);
    if (names.length !== users.length || names.some((name, index) => name !== users[index]?.username)) {
      throw new SluiceError('UNKNOWN', 'mosquitto_passwd -U did not hash every line (unexpected output format)');
    }
    fs.chmodSync(temporary, PRIVATE_FILE_MODE);
    fs.renameSync(temporary, file);
    return names as string[];
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * Who must be able to read the broker's files. Mosquitto started as root drops to the
 * `mosquitto` user (its `user` setting's default) before it reads the password file, ACL and
 * TLS key; files private to root would stop it ("Unable to open pwfile"). So when we run as
 * root, the broker's private files are given to that user, still mode 0600, and nobody else
 * can read them. Started as anyone else, Mosquitto keeps running as that user: nothing to do.
 */
import fs from 'node:fs';

export const MOSQUITTO_RUN_AS = 'mosquitto';

export interface FileOwner {
  uid: number;
  gid: number;
  name: string;
}

/** The user Mosquitto will run as when it is not us, or undefined (we are not root, or no such user). */
export function brokerFileOwner(passwdFile = '/etc/passwd'): FileOwner | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === MOSQUITTO_RUN_AS && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid), name };
  }
  return undefined;
}

export function giveTo(owner: FileOwner | undefined, ...files: string[]): void {
  if (owner === undefined) return;
  for (const file of files) fs.chownSync(file, owner.uid, owner.gid);
}

import fs from 'node:fs';
import net from 'node:net';
import { SluiceError } from '../core/errors';
import { processCommandLine } from './processControl';

export const LOOPBACK = '127.0.0.1';

/** True when nothing listens on host:port (we could bind it ourselves). */
export function isPortFree(port: number, host: string = LOOPBACK): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS picks as free right now (for tests that need non-default ports). */
export function findFreePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The pid of the process listening on a TCP port, read from /proc (Linux). Only used to make
 * PORT_IN_USE messages say who holds the port; undefined where /proc is missing or unreadable.
 */
export function findListeningPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const localAddress = fields[1];
      const state = fields[3];
      const inode = fields[9];
      // state 0A is LISTEN; the local address ends in the port as 4 hex digits
      if (localAddress === undefined || state !== '0A' || inode === undefined) continue;
      if (parseInt(localAddress.slice(localAddress.lastIndexOf(':') + 1), 16) === port) inodes.add(inode);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match?.[1] !== undefined && inodes.has(match[1])) return Number(pid);
      } catch {
        // the fd closed while we looked
      }
    }
  }
  return undefined;
}

/** "pid 1234 (java -Xmx512m ...)" or "another process". */
export function describePortHolder(port: number): string {
  const pid = findListeningPid(port);
  if (pid === undefined) return 'another process';
  const commandLine = processCommandLine(pid);
  if (commandLine === undefined || commandLine === '') return `pid ${pid}`;
  return `pid ${pid} (${commandLine.length > 100 ? `${commandLine.slice(0, 97)}...` : commandLine})`;
}

export interface PortUse {
  port: number;
  purpose: string;
}

/** The first of these ports something already listens on, if any. */
export async function findTakenPort(ports: readonly PortUse[]): Promise<PortUse | undefined> {
  for (const candidate of ports) {
    if (!(await isPortFree(candidate.port))) return candidate;
  }
  return undefined;
}

/** PORT_IN_USE naming the port, what it was for and who holds it. */
export function portInUseError(service: string, taken: PortUse, hint = 'stop it or choose another port'): SluiceError {
  return new SluiceError('PORT_IN_USE', `${service}: port ${LOOPBACK}:${taken.port} (${taken.purpose}) is already in use by ${describePortHolder(taken.port)}; ${hint}`);
}

/** Throws PORT_IN_USE for the first taken port. */
export async function assertPortsFree(service: string, ports: readonly PortUse[]): Promise<void> {
  const taken = await findTakenPort(ports);
  if (taken !== undefined) throw portInUseError(service, taken);
}

/**
 * Helpers for the infra tests, which start real servers on free non-default ports (9092, 4567
 * and 1884 belong to `npm run infra:up`) and clean up the files those instances leave.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { findFreePort, LOOPBACK } from '../../infra/ports';
import { infraPaths } from '../../infra/paths';

/** Distinct free ports (asked for all at once, so the OS does not hand out one twice). */
export async function freePorts(count: number): Promise<number[]> {
  const holders: net.Server[] = [];
  const ports: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: LOOPBACK }, resolve));
    holders.push(server);
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    ports.push(address.port);
  }
  await Promise.all(holders.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export { findFreePort };

/** A plain TCP server holding a port: "something else" for PORT_IN_USE tests. */
export async function holdPort(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Removes infra/.cache/run/<instance>.* (pid file, generated config, log) after a test instance. */
export function removeRunFiles(instance: string, cacheDir?: string): void {
  const { runDir } = infraPaths(cacheDir);
  if (!fs.existsSync(runDir)) return;
  for (const name of fs.readdirSync(runDir)) {
    if (name.startsWith(`${instance}.`)) fs.rmSync(path.join(runDir, name), { force: true });
  }
}

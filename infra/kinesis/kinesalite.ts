import path from 'node:path';
import kinesalite from 'kinesalite';
import { SluiceError } from '../../core/errors';
import type { ManagedProcessSpec } from '../managedProcess';
import { downManagedProcess, statusManagedProcess, upManagedProcess } from '../managedProcess';
import type { InfraOptions } from '../options';
import { infraPaths } from '../paths';
import { LOOPBACK } from '../ports';
import { probeKinesis } from '../probes';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from '../serviceReport';

/**
 * kinesalite, a Kinesis API server in Node (in memory). `infra up` runs it as a detached child
 * process on port 4567; tests that want a private one start it in-process. Streams become
 * ACTIVE at once (createStreamMs/deleteStreamMs/updateStreamMs 0) instead of after 500 ms.
 *
 * Clients must use an HTTP/1.1 handler (NodeHttpHandler): the SDK's Kinesis default is HTTP/2,
 * which kinesalite does not speak.
 */
// shardLimit: kinesalite refuses more than 10 open shards across all streams by default (the old
// AWS account limit); tests and load runs keep many streams open at once.
export const KINESALITE_OPTIONS = { createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100_000 } as const;

export interface RunningKinesalite {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Starts kinesalite inside this process; port 0 picks a free one. */
export async function startKinesaliteInProcess(port = 0, host: string = LOOPBACK): Promise<RunningKinesalite> {
  const server = kinesalite({ ...KINESALITE_OPTIONS });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new SluiceError('PORT_IN_USE', `kinesalite: port ${host}:${port} is already in use`, { cause: error })
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new SluiceError('UNKNOWN', 'kinesalite: server has no TCP address');
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections(); // SDK clients keep connections alive; don't wait for them
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}

export type KinesisServerOptions = Pick<InfraOptions, 'kinesisPort' | 'cacheDir' | 'startTimeoutMs' | 'stopTimeoutMs'>;

const CHILD_ENTRY = path.join(__dirname, 'kinesaliteMain.ts');

export function kinesisSpec(options: KinesisServerOptions): ManagedProcessSpec {
  const port = options.kinesisPort;
  const endpoint = `http://${LOOPBACK}:${port}`;
  return {
    service: 'kinesis',
    instance: `kinesalite-${port}`,
    address: endpoint,
    ports: [{ port, purpose: 'kinesalite' }],
    runDir: infraPaths(options.cacheDir).runDir,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    howToStart: `npm run infra:up (or: node bin/sluice.js infra up --only kinesis${port === 4567 ? '' : ` --kinesis-port ${port}`})`,
    probe: () => probeKinesis(endpoint, 2000),
    prepare() {
      // the child runs our TypeScript entry through tsx, like bin/sluice.js does
      return Promise.resolve({
        command: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), CHILD_ENTRY, String(port)] },
        marker: `${CHILD_ENTRY} ${port}`,
        details: { version: 'kinesalite (in memory)' },
      });
    },
  };
}

export function upKinesis(options: KinesisServerOptions, onProgress?: ProgressListener): Promise<ServiceUpResult> {
  return upManagedProcess(kinesisSpec(options), onProgress);
}

export function downKinesis(options: KinesisServerOptions): Promise<ServiceDownResult> {
  return downManagedProcess(kinesisSpec(options));
}

export function statusKinesis(options: KinesisServerOptions): Promise<ServiceStatus> {
  return statusManagedProcess(kinesisSpec(options));
}

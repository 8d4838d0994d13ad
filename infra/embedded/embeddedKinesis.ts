/**
 * A Kinesis API (kinesalite, in memory) inside this process, for `sluice up` without the
 * `infra up` child process. Streams become ACTIVE at once. Clients must use HTTP/1.1
 * (streams/kinesis does: kinesalite does not speak the SDK's default HTTP/2).
 */
import { SluiceError, errorMessage } from '../../core/errors';
import { startKinesaliteInProcess } from '../kinesis/kinesalite';
import { LOOPBACK, describePortHolder } from '../ports';

export interface EmbeddedKinesisOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedKinesis {
  /** http://host:port, the endpoint of a `kinesis://host:port/<stream>` address */
  endpoint: string;
  port: number;
  /** Stops the server (its streams are gone: they live in memory). Idempotent. */
  close(): Promise<void>;
}

export async function startEmbeddedKinesis(options: EmbeddedKinesisOptions = {}): Promise<EmbeddedKinesis> {
  const host = options.host ?? LOOPBACK;
  const port = options.port ?? 0;
  let server;
  try {
    server = await startKinesaliteInProcess(port, host);
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'PORT_IN_USE') {
      throw new SluiceError('PORT_IN_USE', `embedded Kinesis: port ${host}:${port} is already in use by ${describePortHolder(port)}; stop it or choose another port`, { cause: error });
    }
    throw new SluiceError('SERVICE_UNAVAILABLE', `embedded Kinesis: cannot start kinesalite on ${host}:${port}: ${errorMessage(error)}`, { cause: error, retriable: false });
  }
  let closing: Promise<void> | undefined;
  const running = server;
  return {
    endpoint: running.endpoint,
    port: running.port,
    close() {
      closing ??= running.close();
      return closing;
    },
  };
}

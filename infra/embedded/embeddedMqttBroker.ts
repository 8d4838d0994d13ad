/**
 * An MQTT broker inside this process (aedes on a plain TCP server), for `sluice up` on a machine
 * without Mosquitto. What it is not: aedes 1.x speaks MQTT 3.1.1 only (clients must connect with
 * protocolVersion 4) and has no shared subscriptions for 3.1.1 clients, so one ingest instance
 * subscribes with a plain subscription (`sluice ingest --protocol-version 4 --no-shared`). Its
 * sessions and queued QoS 1 messages live in memory: they survive an ingest restart, not a
 * restart of this process.
 */
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { SluiceError, errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { silentLogger } from '../../core/logger';
import { LOOPBACK, describePortHolder } from '../ports';
import type { AedesBroker } from './loadAedes';
import { loadAedes } from './loadAedes';

export interface EmbeddedMqttBrokerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
}

export interface EmbeddedMqttBroker {
  /** mqtt://host:port */
  url: string;
  port: number;
  /** The aedes instance, for callers that want its events (client, publish, ...). */
  broker: AedesBroker;
  /** Stops listening, drops every client connection, and ends the broker. Idempotent. */
  close(): Promise<void>;
}

export async function startEmbeddedMqttBroker(options: EmbeddedMqttBrokerOptions = {}): Promise<EmbeddedMqttBroker> {
  const host = options.host ?? LOOPBACK;
  const port = options.port ?? 0;
  const logger = options.logger ?? silentLogger;
  const { Aedes } = loadAedes();
  const broker = await Aedes.createBroker();
  // A client that misbehaves is its own problem: log it, never crash the process hosting the broker.
  broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: errorMessage(error) }, 'mqtt client error'));
  broker.on('connectionError', (_client, error) => logger.debug({ err: errorMessage(error) }, 'mqtt connection error'));

  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new SluiceError('PORT_IN_USE', `embedded MQTT broker: port ${host}:${port} is already in use by ${describePortHolder(port)}; stop it or choose another port`, { cause: error });
    }
    throw new SluiceError('SERVICE_UNAVAILABLE', `embedded MQTT broker: cannot listen on ${host}:${port}: ${errorMessage(error)}`, { cause: error, retriable: false });
  }
  server.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'embedded MQTT broker: server error'));
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${address.port}`,
    port: address.port,
    broker,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        // aedes ends its clients; sockets of connections still in the CONNECT handshake are ours to drop
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * The parts `sluice up` runs on: the real servers it is told about, or embedded ones where
 * nothing is configured (aedes for MQTT, kinesalite for the stream, a child redis-server when
 * no Redis answers). PostgreSQL is used when it answers; without it storage writes lake files
 * only and says so.
 */
import { SluiceError } from '../../core/errors';
import { probePostgres } from '../../infra/probes';
import { redactUrl } from '../../security/urlCredentials';
import { kafkaCheck, kinesisCheck, mqttCheck, postgresCheck, redisCheck, requireServersAnswer } from '../support/serverChecks';
import { startEmbeddedKinesis } from '../../infra/embedded/embeddedKinesis';
import { startEmbeddedMqttBroker } from '../../infra/embedded/embeddedMqttBroker';
import { ensureRedis } from '../../infra/embedded/ensureRedis';
import type { UpOptions, UpServerKey } from './upOptions';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface UpServices {
  streamBase: string;
  streamKind: 'kafka' | 'kinesis';
  mqttUrl: string;
  mqttBroker: 'mosquitto' | 'aedes';
  redisUrl: string;
  pgUrl: string | undefined;
  /** one line per part: what it is and where */
  descriptions: string[];
  /** notes the user should read (e.g. storage without PostgreSQL) */
  notes: string[];
  /** true when the stream lives only as long as this process (embedded kinesalite) */
  ephemeralStream: boolean;
  close(): Promise<void>;
}

/** Every server the options name must answer before any part starts (embedded ones included). */
export async function checkNamedServers(options: Pick<UpOptions, UpServerKey | 'serverSettings'>): Promise<void> {
  const setting = (key: UpServerKey): string => options.serverSettings?.[key] ?? SERVER_FLAGS[key];
  await requireServersAnswer([
    options.kafka === undefined ? undefined : kafkaCheck(options.kafka.split(','), setting('kafka')),
    options.kinesisEndpoint === undefined ? undefined : kinesisCheck(options.kinesisEndpoint, setting('kinesisEndpoint')),
    // the devices log in with credentials of their own: any CONNACK shows the broker is there
    options.mqttUrl === undefined ? undefined : mqttCheck(options.mqttUrl, setting('mqttUrl')),
    options.redisUrl === undefined ? undefined : redisCheck(options.redisUrl, setting('redisUrl')),
    typeof options.pgUrl === 'string' ? postgresCheck(options.pgUrl, setting('pgUrl')) : undefined,
  ]);
}

const SERVER_FLAGS: Record<UpServerKey, string> = { kafka: '--kafka', kinesisEndpoint: '--kinesis-endpoint', mqttUrl: '--mqtt-url', redisUrl: '--redis-url', pgUrl: '--pg-url' };

export async function startUpServices(options: UpOptions): Promise<UpServices> {
  await checkNamedServers(options);
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const descriptions: string[] = [];
    const notes: string[] = [];
    let streamBase: string;
    let streamKind: 'kafka' | 'kinesis';
    let ephemeralStream = false;
    if (options.kafka) {
      streamBase = `kafka://${options.kafka}`;
      streamKind = 'kafka';
      descriptions.push(`stream     Kafka at ${options.kafka}`);
    } else if (options.kinesisEndpoint) {
      streamBase = `kinesis://${options.kinesisEndpoint.replace(/^https?:\/\//, '')}`;
      streamKind = 'kinesis';
      descriptions.push(`stream     Kinesis at ${options.kinesisEndpoint}`);
    } else {
      const kinesis = await startEmbeddedKinesis();
      closers.push(() => kinesis.close());
      streamBase = `kinesis://${kinesis.endpoint.replace(/^https?:\/\//, '')}`;
      streamKind = 'kinesis';
      ephemeralStream = true;
      descriptions.push(`stream     embedded kinesalite at ${kinesis.endpoint} (in memory; --kafka for the Kafka of \`sluice infra up\`)`);
    }
    let mqttUrl: string;
    let mqttBroker: 'mosquitto' | 'aedes';
    if (options.mqttUrl) {
      mqttUrl = options.mqttUrl;
      mqttBroker = 'mosquitto';
      descriptions.push(`MQTT       ${redactUrl(mqttUrl)}`);
    } else {
      const broker = await startEmbeddedMqttBroker();
      closers.push(() => broker.close());
      mqttUrl = broker.url;
      mqttBroker = 'aedes';
      descriptions.push(`MQTT       embedded aedes at ${mqttUrl} (--mqtt-url for Mosquitto)`);
    }
    const redis = await ensureRedis({ url: options.redisUrl });
    closers.push(() => redis.close());
    // A Redis the user named must be that one: a stand-in would hide the mistake.
    if (options.redisUrl && redis.spawned) {
      throw new SluiceError('SERVICE_UNAVAILABLE', `--redis-url: Redis at ${redactUrl(options.redisUrl)} does not answer`, { retriable: false, hint: 'start it (`sluice infra status` says how) or leave out --redis-url to use a local one' });
    }
    descriptions.push(`Redis      ${redactUrl(redis.url)}${redis.spawned ? ` (a child redis-server, pid ${redis.pid ?? '?'}: none answered at the default address)` : ''}`);
    let pgUrl: string | undefined;
    if (options.pgUrl !== false) {
      const candidate = options.pgUrl ?? DEFAULT_PG_URL;
      const answer = await probePostgres(candidate, 2000);
      if (answer.ok) {
        pgUrl = candidate;
        descriptions.push(`PostgreSQL ${redactUrl(candidate)}`);
      } else if (options.pgUrl) {
        throw new SluiceError('SERVICE_UNAVAILABLE', `--pg-url: PostgreSQL at ${redactUrl(candidate)} does not answer: ${answer.detail}`, {
          retriable: false,
          hint: 'start it (`sluice infra status` says how), fix --pg-url, or run with --no-pg',
        });
      } else {
        notes.push(`PostgreSQL does not answer at ${redactUrl(candidate)} (${answer.detail}): readings go to lake files only, the device registry and alert history are off. Start PostgreSQL or pass --pg-url to store them.`);
        descriptions.push('PostgreSQL none (lake files only)');
      }
    } else {
      notes.push('--no-pg: readings go to lake files only, the device registry and alert history are off.');
      descriptions.push('PostgreSQL none (--no-pg)');
    }
    return { streamBase, streamKind, mqttUrl, mqttBroker, redisUrl: redis.url, pgUrl, descriptions, notes, ephemeralStream, close };
  } catch (error) {
    await close();
    throw error;
  }
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors';
import type { ManagedProcessSpec } from '../managedProcess';
import { downManagedProcess, statusManagedProcess, upManagedProcess } from '../managedProcess';
import type { InfraOptions } from '../options';
import { displayPath, infraPaths } from '../paths';
import { LOOPBACK } from '../ports';
import { probeKafka } from '../probes';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from '../serviceReport';
import { defaultKafkaVersion, ensureKafkaJars } from './kafkaJars';
import { javaExecutable, kafkaJvmArgs, runKafkaTool, STORAGE_TOOL_CLASS } from './kafkaTool';

/**
 * A single-node Apache Kafka in KRaft mode: broker and controller in one JVM on 127.0.0.1,
 * started from the Maven-resolved jars (no Docker, no tarball). Data lives in
 * infra/.cache/kafka-data/<port>, so topics survive `infra down` / `infra up`.
 */
export type KafkaServerOptions = Pick<InfraOptions, 'kafkaPort' | 'kafkaControllerPort' | 'kafkaVersion' | 'cacheDir' | 'startTimeoutMs' | 'stopTimeoutMs'>;

export const KAFKA_HEAP = '512m';

export function kafkaDataDir(cacheDir: string, port: number): string {
  return path.join(cacheDir, 'kafka-data', String(port));
}

export function kafkaServerProperties(options: { port: number; controllerPort: number; dataDir: string }): string {
  const { port, controllerPort, dataDir } = options;
  return `# Written by sluice infra up (infra/kafka/kafkaServer.ts); edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${LOOPBACK}:${controllerPort}
listeners=PLAINTEXT://${LOOPBACK}:${port},CONTROLLER://${LOOPBACK}:${controllerPort}
advertised.listeners=PLAINTEXT://${LOOPBACK}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=1

# One broker: every internal topic must fit on it, or the first consumer group or
# transaction waits forever for replicas that do not exist.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
# 50 partitions spread group coordinators over a cluster; one broker gains nothing from them
# and the first consumer group waits while they are created.
offsets.topic.num.partitions=10

# Consumer groups join at once instead of waiting 3 s for more members (tests start many groups).
group.initial.rebalance.delay.ms=0

# A typo in a topic name must fail loudly (UNKNOWN_TOPIC_OR_PARTITION), not silently create
# a second topic that nobody reads. Streams are created explicitly, as on Kinesis.
auto.create.topics.enable=false
`;
}

/** A random KRaft cluster id, as `StorageTool random-uuid` makes (base64url, never starting with '-'). */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function kafkaSpec(options: KafkaServerOptions): ManagedProcessSpec {
  const { runDir } = infraPaths(options.cacheDir);
  const port = options.kafkaPort;
  const controllerPort = options.kafkaControllerPort;
  const instance = `kafka-${port}`;
  const propertiesFile = path.join(runDir, `${instance}.properties`);
  const dataDir = kafkaDataDir(options.cacheDir, port);
  const address = `${LOOPBACK}:${port}`;
  return {
    service: 'kafka',
    instance,
    address,
    ports: [
      { port, purpose: 'Kafka broker' },
      { port: controllerPort, purpose: 'Kafka KRaft controller' },
    ],
    runDir,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    howToStart: `npm run infra:up (or: node bin/sluice.js infra up --only kafka${port === 9092 ? '' : ` --kafka-port ${port}`})`,
    probe: () => probeKafka([address], 2000),
    async prepare({ onProgress, phases }) {
      const version = options.kafkaVersion ?? defaultKafkaVersion();
      const jars = await ensureKafkaJars({ version, cacheDir: options.cacheDir, onProgress });
      phases.resolveJars = jars.durationMs;
      const java = javaExecutable();
      fs.mkdirSync(runDir, { recursive: true });
      fs.writeFileSync(propertiesFile, kafkaServerProperties({ port, controllerPort, dataDir }));
      if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
        const formatBegan = Date.now();
        onProgress(`kafka: formatting KRaft storage in ${displayPath(dataDir)}`);
        fs.mkdirSync(dataDir, { recursive: true });
        const format = await runKafkaTool(STORAGE_TOOL_CLASS, ['format', '--ignore-formatted', '-t', randomClusterId(), '-c', propertiesFile], {
          version,
          cacheDir: options.cacheDir,
        });
        if (format.exitCode !== 0) {
          throw new SluiceError('SERVICE_UNAVAILABLE', `Kafka StorageTool format failed (exit ${format.exitCode}):\n${(format.stderr || format.stdout).trim()}`, {
            retriable: false,
          });
        }
        phases.format = Date.now() - formatBegan;
      }
      return {
        command: {
          command: java,
          args: [...kafkaJvmArgs(jars, KAFKA_HEAP), '-XX:+ExitOnOutOfMemoryError', 'kafka.Kafka', propertiesFile],
        },
        marker: propertiesFile,
        details: { version: `Kafka ${version} (KRaft)` },
      };
    },
  };
}

export function upKafka(options: KafkaServerOptions, onProgress?: ProgressListener): Promise<ServiceUpResult> {
  return upManagedProcess(kafkaSpec(options), onProgress);
}

/** Stops our broker; `wipeData` also deletes its topics (the next `up` formats a fresh cluster). */
export async function downKafka(options: KafkaServerOptions, down: { wipeData?: boolean } = {}): Promise<ServiceDownResult> {
  const result = await downManagedProcess(kafkaSpec(options));
  if (down.wipeData === true && result.action !== 'left-running') {
    fs.rmSync(kafkaDataDir(options.cacheDir, options.kafkaPort), { recursive: true, force: true });
  }
  return result;
}

export function statusKafka(options: KafkaServerOptions): Promise<ServiceStatus> {
  return statusManagedProcess(kafkaSpec(options));
}

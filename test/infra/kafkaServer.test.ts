import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { isSluiceError } from '../../core/errors';
import { defaultKafkaVersion } from '../../infra/kafka/kafkaJars';
import { downKafka, statusKafka, upKafka } from '../../infra/kafka/kafkaServer';
import { consoleConsumerClass, runKafkaTool } from '../../infra/kafka/kafkaTool';
import type { InfraOptions } from '../../infra/options';
import { resolveInfraOptions } from '../../infra/options';
import { isPortFree } from '../../infra/ports';
import { isProcessAlive, processCommandLine, readPidRecord } from '../../infra/processControl';
import { infraPaths } from '../../infra/paths';
import { uniqueName } from '../support/servers';
import { freePorts, holdPort, removeRunFiles } from './infraTestSupport';

/**
 * One real broker from the Maven jars on free ports, shared by the tests below in order
 * (start, use, no-op restart, stop): a Kafka start takes seconds, so these tests are few.
 */
describe('Kafka started by infra from the Maven jars', () => {
  let options: InfraOptions;
  let brokerPid: number | undefined;

  beforeAll(async () => {
    const [kafkaPort = 0, controllerPort = 0] = await freePorts(2);
    options = resolveInfraOptions({ kafkaPort, kafkaControllerPort: controllerPort, services: ['kafka'] });
  });

  afterAll(async () => {
    await downKafka(options, { wipeData: true }); // also when a test failed half-way
    removeRunFiles(`kafka-${options.kafkaPort}`);
  }, 60_000);

  function client(): Kafka {
    return new Kafka({ clientId: 'infra-test', brokers: [`127.0.0.1:${options.kafkaPort}`], logLevel: logLevel.NOTHING });
  }

  it('refuses to start on a port another process holds, with PORT_IN_USE naming the port', async () => {
    const holder = await holdPort();
    try {
      const taken = resolveInfraOptions({ kafkaPort: holder.port, kafkaControllerPort: options.kafkaControllerPort });
      const error: unknown = await upKafka(taken).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isSluiceError(error, 'PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${holder.port}`);
      expect(readPidRecord(infraPaths().runDir, `kafka-${holder.port}`)).toBeUndefined();
    } finally {
      await holder.close();
    }
  });

  it('starts a KRaft broker that kafkajs can create a topic on, produce to and consume from in a group', async () => {
    const result = await upKafka(options);
    expect(result.action).toBe('started');
    expect(result.pid).toBeDefined();
    brokerPid = result.pid;
    expect(processCommandLine(result.pid ?? -1)).toContain('kafka.Kafka');
    expect(result.detail).toContain(`Kafka ${defaultKafkaVersion()}`);

    const kafka = client();
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: uniqueName('infra-group') });
    const topic = uniqueName('infra-topic');
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await producer.connect();
      const values = ['one', 'two', 'three'];
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.length === values.length) resolve();
          },
        });
      });
      expect(seen.sort()).toEqual([...values].sort());
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 120_000);

  it('treats a second up as a no-op: the same broker keeps running', async () => {
    const again = await upKafka(options);
    expect(again.action).toBe('already-running');
    expect(again.pid).toBe(brokerPid);
    const status = await statusKafka(options);
    expect(status).toMatchObject({ running: true, owner: 'sluice', pid: brokerPid });
  });

  it("lets Kafka's own console consumer, run from the same jars, read records a kafkajs producer wrote", async () => {
    const kafka = client();
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const topic = uniqueName('infra-console');
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [1, 2, 3].map((n) => ({ key: `device-${n}`, value: `reading-${n}` })) });
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
    const consumed = await runKafkaTool(
      consoleConsumerClass(defaultKafkaVersion()),
      [
        '--bootstrap-server', `127.0.0.1:${options.kafkaPort}`,
        '--topic', topic,
        '--from-beginning',
        '--max-messages', '3',
        '--timeout-ms', '30000',
        '--formatter-property', 'print.key=true',
        '--formatter-property', 'key.separator==',
      ],
      { timeoutMs: 90_000 },
    );
    expect(consumed.stderr).not.toMatch(/ERROR/);
    expect(consumed.exitCode).toBe(0);
    expect(consumed.stdout.trim().split('\n')).toEqual(['device-1=reading-1', 'device-2=reading-2', 'device-3=reading-3']);
  }, 120_000);

  it('stops the broker on down: the process is gone and both ports are free again', async () => {
    const down = await downKafka(options);
    expect(down.action).toBe('stopped');
    expect(isProcessAlive(brokerPid ?? -1)).toBe(false);
    expect(await isPortFree(options.kafkaPort)).toBe(true);
    expect(await isPortFree(options.kafkaControllerPort)).toBe(true);
    expect(await statusKafka(options)).toMatchObject({ running: false, owner: 'none' });
  }, 60_000);
});

import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isSluiceError } from '../../core/errors';
import type { RunningKinesalite } from '../../infra/kinesis/kinesalite';
import { downKinesis, startKinesaliteInProcess, statusKinesis, upKinesis } from '../../infra/kinesis/kinesalite';
import { resolveInfraOptions } from '../../infra/options';
import { isPortFree } from '../../infra/ports';
import { isProcessAlive } from '../../infra/processControl';
import { uniqueName } from '../support/servers';
import { findFreePort, holdPort, removeRunFiles } from './infraTestSupport';

function kinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(), // kinesalite speaks HTTP/1.1 only
  });
}

describe('kinesalite in-process', () => {
  let server: RunningKinesalite | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the Kinesis API: a stream is ACTIVE at once, and a record put is read back', async () => {
    server = await startKinesaliteInProcess(0);
    const client = kinesisClient(server.endpoint);
    try {
      const stream = uniqueName('infra-kinesis');
      await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
      const shards = await client.send(new ListShardsCommand({ StreamName: stream })); // fails unless ACTIVE
      const shardId = shards.Shards?.[0]?.ShardId;
      expect(shardId).toBeDefined();
      await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'device-1', Data: Buffer.from('reading') }));
      const iterator = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
      const records = await client.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
      expect(records.Records?.map((record) => Buffer.from(record.Data ?? []).toString())).toEqual(['reading']);
    } finally {
      client.destroy();
    }
  });

  it('refuses a port that is already taken with PORT_IN_USE', async () => {
    const holder = await holdPort();
    try {
      const error: unknown = await startKinesaliteInProcess(holder.port).then(
        (started) => started.close(),
        (reason: unknown) => reason,
      );
      expect(isSluiceError(error, 'PORT_IN_USE')).toBe(true);
    } finally {
      await holder.close();
    }
  });
});

describe('kinesalite as the child process infra up starts', () => {
  it('starts detached on a free port, a second up is a no-op, and down stops it', async () => {
    const options = resolveInfraOptions({ kinesisPort: await findFreePort(), services: ['kinesis'] });
    try {
      const first = await upKinesis(options);
      expect(first.action).toBe('started');
      const pid = first.pid ?? -1;
      expect(isProcessAlive(pid)).toBe(true);

      const second = await upKinesis(options);
      expect(second).toMatchObject({ action: 'already-running', pid });
      expect(await statusKinesis(options)).toMatchObject({ running: true, owner: 'sluice', pid });

      const down = await downKinesis(options);
      expect(down.action).toBe('stopped');
      expect(isProcessAlive(pid)).toBe(false);
      expect(await isPortFree(options.kinesisPort)).toBe(true);
    } finally {
      await downKinesis(options);
      removeRunFiles(`kinesalite-${options.kinesisPort}`);
    }
  });
});

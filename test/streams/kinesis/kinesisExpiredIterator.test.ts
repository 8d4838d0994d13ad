/**
 * Shard iterators expire 5 minutes after Kinesis hands them out. To get a real
 * ExpiredIteratorException without waiting 5 minutes, this test runs a private kinesalite in
 * its own process and moves the clock both share (jest's fake Date only, which stands still
 * until the test moves it; timers stay real):
 * the server then sees an iterator from 6 minutes ago and refuses it, as AWS would.
 */
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import type { GetShardIteratorCommandInput } from '@aws-sdk/client-kinesis';
import { isSluiceError } from '../../../core/errors';
import { createKinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { KinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { PartitionReader, StartPosition } from '../../../streams/streamClient';
import { startInProcessKinesalite, watchCommand } from './kinesisTestSupport';
import type { InProcessKinesalite } from './kinesisTestSupport';

const SIX_MINUTES = 6 * 60_000;

describe('kinesis reader with an expired shard iterator', () => {
  let server: InProcessKinesalite;
  let client: KinesisStreamClient;
  let iterators: GetShardIteratorCommandInput[];

  beforeAll(async () => {
    server = await startInProcessKinesalite();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    client = createKinesisStreamClient({ endpoint: server.endpoint, region: 'us-east-1', pollIntervalMs: 20 });
    iterators = watchCommand<GetShardIteratorCommandInput>(client, 'GetShardIteratorCommand');
  });
  afterEach(async () => {
    await client.close();
    jest.useRealTimers();
  });

  async function streamWith(name: string, values: string[]): Promise<string> {
    await client.createStream(name, 1);
    const produced = await client.produce(name, values.map((value) => ({ key: 'k', value: Buffer.from(value) })));
    return produced[0]?.partition ?? '';
  }

  function values(records: Array<{ value: Buffer }>): string[] {
    return records.map((record) => record.value.toString());
  }

  it('really is refused by the server after 6 minutes (the premise of the tests below)', async () => {
    const shard = await streamWith('expiry-premise', ['a']);
    const iterator = await client.sdkClient.send(new GetShardIteratorCommand({ StreamName: 'expiry-premise', ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }));
    jest.setSystemTime(Date.now() + SIX_MINUTES);
    let caught: unknown;
    try {
      await client.sdkClient.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator ?? '' }));
    } catch (error) {
      caught = error;
    }
    expect((caught as Error | undefined)?.name).toBe('ExpiredIteratorException');
  });

  it('continues after the last record it returned with a new iterator', async () => {
    const shard = await streamWith('expiry-resume', ['a', 'b', 'c']);
    const reader: PartitionReader = await client.openReader('expiry-resume', shard, { type: 'earliest' });
    expect(values((await reader.read({ maxRecords: 2 })).records)).toEqual(['a', 'b']);
    jest.setSystemTime(Date.now() + SIX_MINUTES);
    await client.produce('expiry-resume', [{ key: 'k', value: Buffer.from('d') }]);
    expect(values((await reader.read({ maxRecords: 10 })).records)).toEqual(['c', 'd']);
    expect(iterators.map((input) => input.ShardIteratorType)).toEqual(['TRIM_HORIZON', 'AFTER_SEQUENCE_NUMBER']);
    await reader.close();
  });

  it.each<[string, StartPosition, string[]]>([
    ['earliest', { type: 'earliest' }, ['x', 'y']],
    ['latest', { type: 'latest' }, ['y']],
  ])('a %s reader that returned nothing yet starts again where it started, skipping nothing', async (label, start, expected) => {
    const name = `expiry-restart-${label}`;
    const shard = await streamWith(name, ['x']);
    // a 'latest' reader restarts AT_TIMESTAMP of its opening: let x arrive a clear ms earlier
    // (a record from the same ms comes back too; see kinesisReader.ts). The fake clock stands
    // still unless moved.
    jest.setSystemTime(Date.now() + 5);
    const reader = await client.openReader(name, shard, start);
    jest.setSystemTime(Date.now() + SIX_MINUTES);
    await client.produce(name, [{ key: 'k', value: Buffer.from('y') }]);
    expect(values((await reader.read({ maxRecords: 10, waitMs: 500 })).records)).toEqual(expected);
    await reader.close();
  });

  it('gives POSITION_EXPIRED if even the new iterator is refused (a clock that keeps jumping)', async () => {
    const shard = await streamWith('expiry-twice', ['a']);
    const reader = await client.openReader('expiry-twice', shard, { type: 'earliest' });
    jest.setSystemTime(Date.now() + SIX_MINUTES);
    // every GetShardIterator answer is already 6 minutes old by the time it is used
    client.sdkClient.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'GetShardIteratorCommand') jest.setSystemTime(Date.now() + SIX_MINUTES);
        return result;
      },
      { step: 'initialize', name: 'ageEveryIterator' },
    );
    let caught: unknown;
    try {
      await reader.read();
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'POSITION_EXPIRED')).toBe(true);
    await reader.close();
  });
});

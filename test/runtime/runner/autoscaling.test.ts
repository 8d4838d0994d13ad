/**
 * Function instances follow the work like Lambda's scaling on a stream: with a backlog every
 * lane of every shard is busy and instances scale out to partitions x ParallelizationFactor;
 * idle instances are dropped down to zero, and the next records wake the mapping (a cold start).
 */
import path from 'node:path';
import Redis from 'ioredis';
import { resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../../streams/openStreamClient';
import { scriptedRegistry } from '../../fixtures/handlers/scriptedHandler';
import { testServers, uniqueName } from '../../support/servers';

const handlerSpec = `${path.join(__dirname, '../../fixtures/handlers/scriptedHandler.ts')}#handler`;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('scales instances out to shards x ParallelizationFactor under a backlog, to zero when idle, and wakes on new records', async () => {
  const client = openStreamClient(`kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/x`);
  const redis = new Redis(testServers.redisUrl);
  const stream = uniqueName('scale');
  const functionName = uniqueName('scale');
  await client.createStream(stream, 2);
  let inFlight = 0;
  let peak = 0;
  scriptedRegistry().scripts.set(functionName, () => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    return new Promise((resolve) => setTimeout(() => { inFlight -= 1; resolve(undefined); }, 60));
  });
  const mapping = resolveMappingConfig({
    FunctionName: functionName, Source: `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`,
    StartingPosition: 'TRIM_HORIZON', BatchSize: 5, ParallelizationFactor: 3, Function: { Handler: handlerSpec },
  }, 'test');
  const runner = new MappingRunner({ mapping, client, redis, keyPrefix: 'sluice-test', leaseDurationMs: 3000, instanceIdleTimeoutMs: 400 });
  const instanceCounts: number[] = [];
  const sampler = setInterval(() => instanceCounts.push(runner.stats().instances), 10);
  try {
    await client.produce(stream, Array.from({ length: 300 }, (_, i) => ({ key: `device-${i % 30}`, value: Buffer.from(`r${i}`) })));
    await runner.start();
    const delivered = (): number => (scriptedRegistry().calls.get(functionName) ?? []).length;
    await waitFor(() => delivered() >= 60, 'the backlog processed');
    expect(Math.max(...instanceCounts)).toBe(6); // 2 shards x ParallelizationFactor 3
    expect(peak).toBe(6);
    // idle: every instance is dropped after the idle timeout
    await waitFor(() => runner.stats().instances === 0, 'scale to zero', 10_000);
    const coldBefore = (await runner.metrics.coldStarts.get()).values[0]?.value ?? 0;
    const before = delivered();
    await client.produce(stream, [{ key: 'device-1', value: Buffer.from('wake') }]);
    await waitFor(() => delivered() > before, 'the mapping woke up', 10_000);
    const coldAfter = (await runner.metrics.coldStarts.get()).values[0]?.value ?? 0;
    expect(coldAfter).toBe(coldBefore + 1);
  } finally {
    clearInterval(sampler);
    await runner.stop();
    await client.deleteStream(stream).catch(() => undefined);
    await client.close();
    redis.disconnect();
  }
});

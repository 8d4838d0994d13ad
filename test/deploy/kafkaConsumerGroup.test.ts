/**
 * The consumer group KEDA measures and MSK mappings join is the group the runtime really reads
 * with: a MappingRunner for a pipeline function on a real Kafka joins kafkaConsumerGroupId(its
 * name) and commits there, so KEDA's lag for that group is the function's backlog.
 */
import path from 'node:path';
import { pipelineMappingInputs } from '../../cli/pipeline/pipelineSpec';
import { kafkaConsumerGroupId } from '../../cli/deploy/pipelineDeployment';
import { COMMITTED_RENDERINGS } from '../../cli/deploy/renderTargets';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import { supportsGroupAdmin } from '../../streams/streamClient';
import type { StreamClient } from '../../streams/streamClient';
import { testServers, uniqueName } from '../support/servers';
import { PROJECT_ROOT, at, parseCloudFormation, parseYamlDocuments, readProjectFile } from './deployTestSupport';

const KAFKA_BASE = `kafka://${testServers.kafkaBrokers.join(',')}`;
const HANDLER = `${path.join(__dirname, '../fixtures/handlers/scriptedHandler.ts')}#handler`;

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the consumer group of a deployed Kafka function', () => {
  let client: StreamClient;
  let runner: MappingRunner | undefined;
  const topic = uniqueName('deploy-group');
  const failures = uniqueName('deploy-group-failures');

  beforeAll(async () => {
    client = openStreamClient(`${KAFKA_BASE}/${topic}`);
    await client.createStream(topic, 2);
    await client.createStream(failures, 1);
  });

  afterAll(async () => {
    await runner?.stop();
    await client.deleteStream(topic).catch(() => undefined);
    await client.deleteStream(failures).catch(() => undefined);
    await client.close();
  });

  it('is the one the runtime joins and commits to for that function', async () => {
    // The transform function's mapping as `sluice up` builds it, on streams of its own (prefixed
    // names, so no other run shares the group), with a handler that only succeeds.
    const prefix = `${uniqueName('t')}-`;
    const [input] = pipelineMappingInputs({ streamBase: KAFKA_BASE, streamPrefix: prefix }, PROJECT_ROOT);
    const mapping = resolveMappingConfig({ ...input, Source: `${KAFKA_BASE}/${topic}`, DestinationConfig: { OnFailure: { Destination: `${KAFKA_BASE}/${failures}`, IncludeRecords: true } }, Function: { ...(input?.Function as object), Handler: HANDLER } }, 'test');
    const group = kafkaConsumerGroupId(mapping.FunctionName);
    const admin = client;
    if (!supportsGroupAdmin(admin)) throw new Error('the Kafka client has no group admin');
    expect((await admin.groupOffsets(topic, group)).state).toBe('Dead');

    runner = new MappingRunner({ mapping, client });
    await runner.start();
    await client.produce(topic, [{ key: 'device-1', value: Buffer.from('one') }, { key: 'device-2', value: Buffer.from('two') }]);
    await waitFor(async () => {
      const offsets = await admin.groupOffsets(topic, group);
      const committed = offsets.partitions.reduce((sum, partition) => sum + Number(partition.committed ?? 0), 0);
      return offsets.state === 'Stable' && offsets.members.length === 1 && committed === 2;
    }, `group ${group} to be stable with both records committed`);
    const offsets = await admin.groupOffsets(topic, group);
    expect(offsets.partitions.map((partition) => partition.lag)).toEqual([0, 0]);
  });

  it('is the group every committed KEDA ScaledObject and MSK mapping names for its function', () => {
    const scalers = parseYamlDocuments(readProjectFile(COMMITTED_RENDERINGS.k8s)).filter((manifest) => manifest.kind === 'ScaledObject');
    expect(scalers.length).toBeGreaterThan(0);
    for (const scaler of scalers) {
      const functionName = at(scaler, 'spec', 'scaleTargetRef', 'name') as string;
      const [trigger] = at(scaler, 'spec', 'triggers') as Array<Record<string, unknown>>;
      expect(at(trigger, 'metadata', 'consumerGroup')).toBe(kafkaConsumerGroupId(functionName));
    }
    const resources = Object.values(at(parseCloudFormation(readProjectFile(COMMITTED_RENDERINGS.msk)), 'Resources') as Record<string, Record<string, unknown>>);
    const mskEvents = resources.flatMap((resource) => Object.values((at(resource, 'Properties') as { Events?: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Events ?? {})
      .filter((event) => event.Type === 'MSK')
      .map((event) => ({ functionName: at(resource, 'Properties', 'FunctionName'), group: event.Properties.ConsumerGroupId })));
    expect(mskEvents.length).toBe(scalers.length);
    for (const { functionName, group } of mskEvents) expect(group).toBe(kafkaConsumerGroupId(functionName as string));
  });
});

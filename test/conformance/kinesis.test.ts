/**
 * The stream conformance suite against the Kinesis adapter on kinesalite, including the
 * reshard scenario (SplitShard: parent shard closes, two children continue).
 */
import { createKinesisStreamClient } from '../../streams/kinesis/kinesisStreamClient';
import { testServers } from '../support/servers';
import { describeStreamConformance } from './streamConformance';

describeStreamConformance('kinesis', async () => {
  const client = createKinesisStreamClient({ endpoint: testServers.kinesisEndpoint, region: 'us-east-1', pollIntervalMs: 50 });
  return { client, splitPartition: (stream, partition) => client.splitShard(stream, partition) };
});

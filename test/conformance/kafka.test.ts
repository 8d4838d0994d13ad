/**
 * The stream conformance suite against the Kafka adapter on the real broker. Kafka cannot split
 * a partition, so the target offers no splitPartition (the suite checks that it is Kafka).
 */
import { createKafkaStreamClient } from '../../streams/kafka/kafkaStreamClient';
import { testServers } from '../support/servers';
import { describeStreamConformance } from './streamConformance';

describeStreamConformance('kafka', async () => ({
  client: createKafkaStreamClient({ brokers: testServers.kafkaBrokers, clientId: 'sluice-conformance' }),
}));

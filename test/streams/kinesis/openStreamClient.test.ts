/**
 * openStreamClient: from an address to the adapter that serves it (the Kinesis path end to
 * end on kinesalite; the Kafka path only as far as choosing the adapter, which connects lazily).
 */
import { isSluiceError } from '../../../core/errors';
import { openStreamClient } from '../../../streams/openStreamClient';
import { testServers, uniqueName } from '../../support/servers';

describe('openStreamClient', () => {
  it('opens the Kinesis adapter on the endpoint a kinesis:// address names', async () => {
    const name = uniqueName('open');
    const client = openStreamClient(`kinesis://${testServers.kinesisEndpoint.replace(/^http:\/\//, '')}/${name}`);
    try {
      expect(client.kind).toBe('kinesis');
      await client.createStream(name, 2);
      expect((await client.describeStream(name)).partitions).toHaveLength(2);
      await client.deleteStream(name);
    } finally {
      await client.close();
    }
  });

  it('takes an address already parsed', async () => {
    const client = openStreamClient({ kind: 'kinesis', endpoint: testServers.kinesisEndpoint, region: 'eu-west-1', stream: 'telemetry' });
    expect(client.kind).toBe('kinesis');
    await client.close();
  });

  it('opens the Kafka adapter for a kafka:// address', async () => {
    const client = openStreamClient('kafka://127.0.0.1:9/telemetry', { clientId: 'sluice-test' });
    expect(client.kind).toBe('kafka');
    await client.close();
  });

  it('refuses something that is not a stream address with ADDRESS_INVALID', () => {
    let caught: unknown;
    try {
      openStreamClient('redis://127.0.0.1:6379/telemetry');
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'ADDRESS_INVALID')).toBe(true);
  });
});

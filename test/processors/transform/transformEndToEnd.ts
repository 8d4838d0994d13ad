/**
 * The transform end to end on a real stream: records produced to a telemetry stream (as ingest
 * writes them, plus device duplicates and malformed records), the handler file run by the
 * runtime's MappingRunner with its settings in the environment (as on Lambda), enriched readings
 * and dead letters read back from their streams.
 *
 * One test file per stream kind (transformEndToEnd.kafka.test.ts, ...kinesis.test.ts) calls
 * this: under jest a handler module is evaluated once per test file (jest's require.cache
 * refuses the delete the runtime uses for a fresh instance), so the environment the handler
 * read first would stay for the second kind in the same file.
 */
import path from 'node:path';
import { Pool } from 'pg';
import { registerDevices } from '../../../processors/registry/deviceImport';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { AvroCodec } from '../../../schemas/avroCodec';
import type { DeadLetter, EnrichedReading } from '../../../schemas/records';
import { registerSluiceSchemas } from '../../../schemas/sluiceSchemas';
import type { StreamRecordInput } from '../../../streams/streamClient';
import type { Kind } from '../../runtime/runner/runnerTestSupport';
import { RunnerTestBed, sourceAddress, waitFor } from '../../runtime/runner/runnerTestSupport';
import { tempRegistry, wireHeader } from '../../schemas/tempRegistry';
import type { TempRegistry } from '../../schemas/tempRegistry';
import { testServers, uniqueName } from '../../support/servers';
import { forgetTestDevices } from '../registry/registryTestSupport';
import { encodeReading, reading } from './transformTestSupport';

const TRANSFORM = `${path.resolve(__dirname, '../../../processors/transform/handler.ts')}#handler`;
const SETTINGS = ['SLUICE_REDIS_URL', 'SLUICE_PG_URL', 'SLUICE_SCHEMA_REGISTRY', 'SLUICE_KEY_PREFIX', 'SLUICE_ENRICHED_STREAM', 'SLUICE_PROCESSOR_DLQ', 'SLUICE_UNKNOWN_DEVICES'];

export function describeTransformEndToEnd(kind: Kind): void {
  describe(`transform on ${kind} through the mapping runner`, () => {
    let bed: RunnerTestBed;
    let temp: TempRegistry;
    let codec: AvroCodec;
    let pool: Pool;
    const keyPrefix = uniqueName('sluice-test-e2e');
    const savedEnv: Record<string, string | undefined> = {};

    beforeAll(async () => {
      bed = new RunnerTestBed(kind);
      temp = tempRegistry();
      await registerSluiceSchemas(temp.registry);
      codec = new AvroCodec(temp.registry);
      pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
      for (const name of SETTINGS) savedEnv[name] = process.env[name];
    });

    afterAll(async () => {
      const keys = await bed.redis.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await bed.redis.del(...keys);
      await bed.close();
      // the connections the handler opened in this process (processors/shared/processorResources.ts)
      await closeSharedResources();
      await forgetTestDevices(pool);
      await pool.end();
      await temp.cleanup();
      for (const name of SETTINGS) {
        if (savedEnv[name] === undefined) delete process.env[name];
        else process.env[name] = savedEnv[name];
      }
    });

    it('enriches every reading once, drops device duplicates and dead-letters malformed records with their reason', async () => {
      const telemetry = await bed.newStream(2);
      const enriched = await bed.newStream(1);
      const dlq = await bed.newStream(1);
      const [thermo, pump, stranger] = ['thermo', 'pump', 'stranger'].map((name) => uniqueName(`e2e-${name}`)) as [string, string, string];
      await registerDevices(pool, [
        { deviceId: thermo, deviceType: 'temperature-humidity', siteId: 'site-01', thresholds: { temperature_max: 30 } },
        { deviceId: pump, deviceType: 'pump-vibration', siteId: 'site-02', thresholds: { vibrationRms_max: 7.1 } },
      ]);
      Object.assign(process.env, {
        SLUICE_REDIS_URL: testServers.redisUrl,
        SLUICE_PG_URL: testServers.postgresUrl,
        SLUICE_SCHEMA_REGISTRY: temp.filePath,
        SLUICE_KEY_PREFIX: keyPrefix,
        SLUICE_ENRICHED_STREAM: sourceAddress(kind, enriched),
        SLUICE_PROCESSOR_DLQ: sourceAddress(kind, dlq),
        SLUICE_UNKNOWN_DEVICES: 'pass',
      });

      const inputs: StreamRecordInput[] = [];
      for (const deviceId of [thermo, pump, stranger]) {
        for (let seq = 0; seq < 5; seq += 1) inputs.push({ key: deviceId, value: await encodeReading(codec, reading(deviceId, seq, { temperatureF: 50 + seq, humidity: 60 })) });
      }
      // the thermometer sent seq 1 and 3 twice (MQTT redelivery): same reading, later positions
      const duplicates = inputs.filter((_, index) => index === 1 || index === 3).map((input) => ({ ...input }));
      const malformed = Buffer.from('{"deviceId":"json-not-avro"}');
      const unknownSchema = Buffer.concat([wireHeader(4242), Buffer.from([0])]);
      await bed.client.produce(telemetry, inputs);
      await bed.client.produce(telemetry, [...duplicates, { key: 'json-device', value: malformed }, { key: thermo, value: unknownSchema }]);

      await bed.runner({ FunctionName: uniqueName('transform'), Source: sourceAddress(kind, telemetry), BatchSize: 4, Function: { Handler: TRANSFORM } }).start();
      await waitFor(async () => (await bed.readAll(enriched)).length >= 15 && (await bed.readAll(dlq)).length >= 2, '15 enriched readings and 2 dead letters', 45_000);

      const out = await bed.readAll(enriched);
      const readings = await Promise.all(out.map(async (record) => ({ key: record.key, value: (await codec.decode(record.value)) as EnrichedReading })));
      expect(readings).toHaveLength(15);
      expect(readings.map(({ value }) => `${value.deviceId}/${value.seq}`).sort()).toEqual([thermo, pump, stranger].flatMap((id) => [0, 1, 2, 3, 4].map((seq) => `${id}/${seq}`)).sort());
      for (const { key, value } of readings) {
        expect(key).toBe(value.deviceId);
        // 50 °F + seq, as °C
        expect(value.metrics.temperature).toBeCloseTo(((50 + value.seq - 32) * 5) / 9, 9);
        expect(value.metrics).toHaveProperty('dewPoint');
        const expected = value.deviceId === thermo
          ? { deviceType: 'temperature-humidity', siteId: 'site-01', thresholds: { temperature_max: 30 } }
          : value.deviceId === pump
            ? { deviceType: 'pump-vibration', siteId: 'site-02', thresholds: { vibrationRms_max: 7.1 } }
            : { deviceType: 'temperature-humidity', siteId: 'unassigned', thresholds: null };
        expect(value).toMatchObject(expected);
      }

      const letters = await Promise.all((await bed.readAll(dlq)).map(async (record) => (await codec.decode(record.value)) as DeadLetter));
      expect(letters.map((letter) => [letter.reasonCode, letter.original.toString('hex')]).sort()).toEqual([
        ['bad_avro', malformed.toString('hex')],
        ['unknown_schema', unknownSchema.toString('hex')],
      ]);
      expect(letters.every((letter) => letter.source.kind === kind)).toBe(true);
      // the duplicates were seen and dropped: the window holds the thermometer's five seqs
      expect(await bed.redis.zcard(`${keyPrefix}:transform:dedupe:${thermo}`)).toBe(5);
      });
  });
}

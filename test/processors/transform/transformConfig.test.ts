/** The transform's settings from the environment: defaults, and errors that name the variable. */
import { transformConfigFromEnv } from '../../../processors/transform/transformConfig';

const REQUIRED = { SLUICE_SCHEMA_REGISTRY: '/tmp/registry.json', SLUICE_ENRICHED_STREAM: 'kafka://127.0.0.1:9092/enriched', SLUICE_PROCESSOR_DLQ: 'kafka://127.0.0.1:9092/processor-dlq' };

describe('transformConfigFromEnv', () => {
  it('applies the documented defaults', () => {
    expect(transformConfigFromEnv(REQUIRED)).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      pgUrl: 'postgres://postgres@127.0.0.1:5432/test',
      schemaRegistry: '/tmp/registry.json',
      keyPrefix: 'sluice',
      enrichedStream: 'kafka://127.0.0.1:9092/enriched',
      deadLetterStream: 'kafka://127.0.0.1:9092/processor-dlq',
      unknownDevices: 'pass',
      dedupeWindow: 128,
      dedupeTtlMs: 86_400_000,
      registryCacheMs: 30_000,
    });
  });

  it('reads every setting', () => {
    expect(transformConfigFromEnv({ ...REQUIRED, SLUICE_UNKNOWN_DEVICES: 'dead-letter', SLUICE_DEDUPE_WINDOW: '64', SLUICE_DEDUPE_TTL_SECONDS: '60', SLUICE_REGISTRY_CACHE_SECONDS: '0', SLUICE_KEY_PREFIX: 'p' }))
      .toMatchObject({ unknownDevices: 'dead-letter', dedupeWindow: 64, dedupeTtlMs: 60_000, registryCacheMs: 0, keyPrefix: 'p' });
  });

  it.each([
    [{ SLUICE_ENRICHED_STREAM: '' }, '$SLUICE_ENRICHED_STREAM: is not set'],
    [{ SLUICE_PROCESSOR_DLQ: undefined }, '$SLUICE_PROCESSOR_DLQ: is not set'],
    [{ SLUICE_UNKNOWN_DEVICES: 'drop' }, '$SLUICE_UNKNOWN_DEVICES: must be pass or dead-letter, got "drop"'],
    [{ SLUICE_DEDUPE_WINDOW: '0' }, '$SLUICE_DEDUPE_WINDOW: must be an integer in 1..100000, got "0"'],
    [{ SLUICE_DEDUPE_TTL_SECONDS: '1.5' }, '$SLUICE_DEDUPE_TTL_SECONDS: must be an integer in 1..2592000, got "1.5"'],
  ])('refuses %j naming the variable', (override, message) => {
    expect(() => transformConfigFromEnv({ ...REQUIRED, ...override })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message }));
  });
});

import type { AvroSchema } from '../../schemas/avroSchema';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SchemaRegistryError } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';
import type { TempRegistry } from './tempRegistry';
import { tempRegistry } from './tempRegistry';

const alertV1 = loadSluiceSchema(SUBJECTS.alert) as { fields: unknown[] };
const withField = (field: Record<string, unknown>) => ({ ...alertV1, fields: [...alertV1.fields, field] });

describe('SchemaRegistry', () => {
  let temp: TempRegistry;

  beforeEach(() => {
    temp = tempRegistry();
  });

  afterEach(async () => {
    await temp.cleanup();
  });

  it('returns the same id when the same schema is registered again, however it is formatted', async () => {
    const id = await temp.registry.register('alerts', alertV1);
    const reordered = Object.fromEntries(Object.entries(alertV1).reverse());
    await expect(temp.registry.register('alerts', reordered)).resolves.toBe(id);
    await expect(temp.registry.listVersions('alerts')).resolves.toEqual([1]);
  });

  it('gives the same schema the same global id in another subject', async () => {
    const id = await temp.registry.register('a', alertV1);
    await expect(temp.registry.register('b', alertV1)).resolves.toBe(id);
    await expect(temp.registry.listSubjects()).resolves.toEqual(['a', 'b']);
  });

  it('keeps versions per subject and finds them by version and by id', async () => {
    const v1 = await temp.registry.register('alerts', alertV1);
    const v2 = await temp.registry.register('alerts', withField({ name: 'site', type: 'string', default: '' }));
    expect(v2).not.toBe(v1);
    await expect(temp.registry.getLatest('alerts')).resolves.toMatchObject({ subject: 'alerts', version: 2, id: v2 });
    await expect(temp.registry.getVersion('alerts', 1)).resolves.toMatchObject({ version: 1, id: v1 });
    await expect(temp.registry.getVersion('alerts', 3)).resolves.toBeUndefined();
    await expect(temp.registry.getVersion('alerts', 0)).resolves.toBeUndefined();
    await expect(temp.registry.getLatest('nothing')).resolves.toBeUndefined();
    await expect(temp.registry.getById(999)).resolves.toBeUndefined();
    // Re-registering an older version is idempotent too (as in Confluent's registry).
    await expect(temp.registry.registerVersion('alerts', alertV1)).resolves.toMatchObject({ version: 1, id: v1 });
  });

  it('stores the full schema text, logicalType and doc included, and reads it back in a new registry', async () => {
    const id = await temp.registry.register('alerts', alertV1);
    const fresh = new SchemaRegistry(new FileSchemaStore(temp.filePath));
    const stored = await fresh.getById(id);
    expect(JSON.parse(stored?.schemaText ?? 'null')).toEqual(alertV1);
    expect(stored?.schemaText).toContain('timestamp-millis');
    expect(stored?.type.name).toBe('dev.sluice.Alert');
  });

  it('refuses an incompatible change with SCHEMA_INCOMPATIBLE naming the subject and the field, and adds no version', async () => {
    await temp.registry.register('alerts', alertV1);
    const error = await temp.registry.register('alerts', withField({ name: 'site', type: 'string' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect(error).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', subject: 'alerts', retriable: false });
    expect((error as Error).message).toBe(
      'subject "alerts": the new schema is not BACKWARD compatible with version 1 (id 1): site: new field without a default (data written with the previous version has no value for it)',
    );
    await expect(temp.registry.listVersions('alerts')).resolves.toEqual([1]);
  });

  it('checks against the latest version only (BACKWARD, not BACKWARD_TRANSITIVE)', async () => {
    await temp.registry.register('s', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] });
    await temp.registry.register('s', { type: 'record', name: 'R', fields: [] });
    // Readable from v2 (no fields), not from v1 (a is a string there): allowed.
    await expect(temp.registry.register('s', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 0 }] })).resolves.toBe(3);
  });

  it.each<[string, unknown]>([
    ['an unknown type', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'strin' }] }],
    ['a record without a name', { type: 'record', fields: [] }],
    ['a bad default', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 'x' }] }],
  ])('refuses %s as SCHEMA_INVALID naming the subject', async (_name, schema) => {
    await expect(temp.registry.register('bad', schema as AvroSchema)).rejects.toMatchObject({ code: 'SCHEMA_INVALID', subject: 'bad', message: expect.stringContaining('subject "bad": invalid Avro schema') });
  });

  it.each(['', 'x'.repeat(256), 'tab\there'])('refuses the subject name %j', async (subject) => {
    await expect(temp.registry.register(subject, alertV1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });

  it('gives concurrent registrations from separate processes distinct versions without gaps', async () => {
    await temp.registry.register('s', alertV1);
    const registries = [0, 1, 2, 3].map(() => new SchemaRegistry(new FileSchemaStore(temp.filePath)));
    const ids = await Promise.all(registries.map((registry, i) => registry.register('s', withField({ name: `extra${i}`, type: 'int', default: i }))));
    expect(new Set(ids).size).toBe(4);
    const versions = await temp.registry.listVersions('s');
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    const stored = await Promise.all(versions.map((version) => temp.registry.getVersion('s', version)));
    expect(stored.slice(1).map((version) => version?.id).sort()).toEqual([...ids].sort());
  });
});

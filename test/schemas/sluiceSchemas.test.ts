/**
 * Golden fixtures: encoding fixed samples must give the checked-in bytes, and the checked-in bytes
 * must decode to the samples, so an accidental schema change fails here.
 * Regenerate deliberately with: SLUICE_UPDATE_GOLDEN=1 npx jest test/schemas/sluiceSchemas.test.ts
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AvroCodec } from '../../schemas/avroCodec';
import { SCHEMA_DIR, SLUICE_SUBJECTS, SUBJECTS, loadSchemaFile, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import type { SluiceSubject } from '../../schemas/sluiceSchemas';
import { GOLDEN_SAMPLES } from '../fixtures/schemas/goldenSamples';
import type { TempRegistry } from './tempRegistry';
import { tempRegistry, wireHeader } from './tempRegistry';

const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'schemas');
const UPDATE_GOLDEN = process.env.SLUICE_UPDATE_GOLDEN === '1';

function fixturePath(name: string): string {
  return path.join(FIXTURE_DIR, `${name}.hex`);
}

function readFixture(name: string): Buffer {
  const file = fixturePath(name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run SLUICE_UPDATE_GOLDEN=1 npx jest test/schemas/sluiceSchemas.test.ts`);
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
}

describe('sluice schemas', () => {
  let temp: TempRegistry;
  let ids: Record<SluiceSubject, number>;
  let codec: AvroCodec;

  beforeAll(async () => {
    temp = tempRegistry();
    ids = await registerSluiceSchemas(temp.registry);
    codec = new AvroCodec(temp.registry);
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  it('has one .avsc file per subject, each naming its record in the dev.sluice namespace', () => {
    const files = readdirSync(SCHEMA_DIR).filter((file) => file.endsWith('.avsc')).sort();
    expect(files).toEqual(SLUICE_SUBJECTS.map((subject) => `${subject.replace('dev.sluice.', '')}.avsc`).sort());
    for (const subject of SLUICE_SUBJECTS) {
      const schema = loadSluiceSchema(subject) as { name: string; namespace: string };
      expect(`${schema.namespace}.${schema.name}`).toBe(subject);
    }
  });

  it('gives the schemas ids 1..5 in a fresh registry, and the same ids when registered again', async () => {
    expect(ids).toEqual({
      [SUBJECTS.telemetryReading]: 1,
      [SUBJECTS.aggregate]: 2,
      [SUBJECTS.alert]: 3,
      [SUBJECTS.deadLetter]: 4,
      [SUBJECTS.enrichedReading]: 5,
    });
    await expect(registerSluiceSchemas(temp.registry)).resolves.toEqual(ids);
  });

  it.each(GOLDEN_SAMPLES)('encodes $name to the checked-in bytes', async (sample) => {
    const message = await codec.encode(sample.subject, sample.value);
    expect(message.subarray(0, 5)).toEqual(wireHeader(ids[sample.subject]));
    const body = message.subarray(5);
    if (UPDATE_GOLDEN) writeFileSync(fixturePath(sample.name), `${body.toString('hex')}\n`);
    expect(body.toString('hex')).toBe(readFixture(sample.name).toString('hex'));
  });

  it.each(GOLDEN_SAMPLES)('decodes the checked-in bytes of $name to the sample', async (sample) => {
    const message = Buffer.concat([wireHeader(ids[sample.subject]), readFixture(sample.name)]);
    await expect(codec.decode(message)).resolves.toEqual(sample.decoded);
  });

  it('refuses a schema file that is missing or not JSON with SCHEMA_INVALID naming the file', () => {
    const missing = path.join(temp.dir, 'missing.avsc');
    expect(() => loadSchemaFile(missing)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining(missing) }));
    const broken = path.join(temp.dir, 'broken.avsc');
    writeFileSync(broken, '{"type": "record",');
    expect(() => loadSchemaFile(broken)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining(`${broken}: schema is not JSON`) }));
    writeFileSync(broken, '42');
    expect(() => loadSchemaFile(broken)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('got 42') }));
  });

  it('has a fixture for every sample and no stale fixtures', () => {
    const fixtures = readdirSync(FIXTURE_DIR).filter((file) => file.endsWith('.hex')).sort();
    expect(fixtures).toEqual(GOLDEN_SAMPLES.map((sample) => `${sample.name}.hex`).sort());
  });
});

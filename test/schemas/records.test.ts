/**
 * The hand-written TypeScript types in schemas/records.ts must match the .avsc files.
 * The chain: the full samples in test/fixtures/schemas/goldenSamples.ts are typed
 * `satisfies Required<T>`, so tsc (npm run check) fails if a sample lacks a field of the interface or
 * has one the interface lacks; this test fails if a sample's fields differ from the Avro record's or
 * the sample does not survive a round trip. Together: interface fields == Avro fields.
 */
import { Type } from 'avsc';
import type { types } from 'avsc';
import { createAvroType } from '../../schemas/avroSchema';
import { AGGREGATE_SCOPES, ALERT_SEVERITIES, ALERT_STATES, WINDOW_KINDS } from '../../schemas/records';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';
import type { SluiceSubject } from '../../schemas/sluiceSchemas';
import { GOLDEN_SAMPLES } from '../fixtures/schemas/goldenSamples';

function typeOf(subject: SluiceSubject): types.RecordType {
  return createAvroType(loadSluiceSchema(subject)) as types.RecordType;
}

function recordBranch(type: Type): types.RecordType | undefined {
  if (type.typeName === 'record') return type as types.RecordType;
  if (Type.isType(type, 'union')) return (type as types.UnwrappedUnionType).types.find((branch) => branch.typeName === 'record') as types.RecordType | undefined;
  return undefined;
}

/** Field names of every (nested) record in the value, against the schema's. */
function expectSameFields(type: types.RecordType, value: Record<string, unknown>, path: string): void {
  expect({ path, fields: Object.keys(value).sort() }).toEqual({ path, fields: type.fields.map((field) => field.name).sort() });
  for (const field of type.fields) {
    const nested = recordBranch(field.type);
    const fieldValue = value[field.name];
    if (nested && fieldValue !== null && typeof fieldValue === 'object') {
      expectSameFields(nested, fieldValue as Record<string, unknown>, `${path}.${field.name}`);
    }
  }
}

function enumSymbols(subject: SluiceSubject, field: string): string[] {
  const fieldType = typeOf(subject).field(field).type;
  return (fieldType as types.EnumType).symbols;
}

describe('TypeScript record types', () => {
  const fullSamples = GOLDEN_SAMPLES.filter((sample) => sample.name !== 'telemetryReading-minimal');

  it('has a fully populated sample for every subject', () => {
    expect(new Set(fullSamples.map((sample) => sample.subject))).toEqual(new Set(Object.values(SUBJECTS)));
  });

  it.each(fullSamples)('$name has exactly the fields of its Avro record, nested records included', (sample) => {
    expectSameFields(typeOf(sample.subject), sample.value as Record<string, unknown>, sample.subject);
  });

  it.each(fullSamples)('$name is valid for its schema and survives a round trip unchanged', (sample) => {
    const type = typeOf(sample.subject);
    const paths: string[] = [];
    type.isValid(sample.value, { errorHook: (path: string[]) => paths.push(path.join('.')) });
    expect(paths).toEqual([]);
    expect(type.fromBuffer(type.toBuffer(sample.value))).toEqual(sample.value);
  });

  it('enum unions match the Avro enum symbols in order', () => {
    expect(enumSymbols(SUBJECTS.aggregate, 'scope')).toEqual([...AGGREGATE_SCOPES]);
    expect(enumSymbols(SUBJECTS.aggregate, 'windowKind')).toEqual([...WINDOW_KINDS]);
    expect(enumSymbols(SUBJECTS.alert, 'severity')).toEqual([...ALERT_SEVERITIES]);
    expect(enumSymbols(SUBJECTS.alert, 'state')).toEqual([...ALERT_STATES]);
  });

  it('marks every time field as timestamp-millis in the .avsc files', () => {
    const timeFields: Record<SluiceSubject, string[]> = {
      [SUBJECTS.telemetryReading]: ['eventTime', 'ingestTime'],
      [SUBJECTS.aggregate]: ['windowStart', 'windowEnd', 'firstTime', 'lastTime'],
      [SUBJECTS.alert]: ['raisedAt', 'updatedAt'],
      [SUBJECTS.deadLetter]: ['firstSeenAt'],
      [SUBJECTS.enrichedReading]: ['eventTime', 'ingestTime', 'transformTime'],
    };
    for (const [subject, fields] of Object.entries(timeFields)) {
      const schema = loadSluiceSchema(subject as SluiceSubject) as { fields: { name: string; type: unknown }[] };
      for (const name of fields) {
        const fieldType = schema.fields.find((field) => field.name === name)?.type;
        const longType = Array.isArray(fieldType) ? fieldType.find((branch) => branch !== 'null') : fieldType;
        expect({ subject, name, longType }).toEqual({ subject, name, longType: { type: 'long', logicalType: 'timestamp-millis' } });
      }
    }
  });
});

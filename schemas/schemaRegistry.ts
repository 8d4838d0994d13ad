/**
 * Our own schema registry: subjects with versions, global ids, BACKWARD compatibility on register.
 * Storage is a SchemaStore (file or Redis); this class holds the rules and caches what is
 * immutable (an id's schema never changes).
 */
import type { Type } from 'avsc';
import { SluiceError } from '../core/errors';
import type { AvroSchema } from './avroSchema';
import { canonicalSchemaText, createAvroType, parseSchemaText, schemaFingerprint } from './avroSchema';
import { explainIncompatibility } from './compatibility';
import { SchemaRegistryError } from './schemaErrors';
import type { SchemaStore } from './schemaStore';

export interface RegisteredSchema {
  id: number;
  /** Canonical JSON text, as stored. */
  schemaText: string;
  type: Type;
}

export interface SubjectVersion extends RegisteredSchema {
  subject: string;
  /** 1-based. */
  version: number;
}

/** What the codec needs from a registry. */
export interface SchemaLookup {
  getById(id: number): Promise<RegisteredSchema | undefined>;
  getLatest(subject: string): Promise<SubjectVersion | undefined>;
}

/** Concurrent registrations on one subject retry their check this often before giving up. */
const MAX_REGISTER_ATTEMPTS = 10;
const MAX_SUBJECT_LENGTH = 255;

export class SchemaRegistry implements SchemaLookup {
  private readonly store: SchemaStore;
  private readonly byId = new Map<number, RegisteredSchema>();

  constructor(store: SchemaStore) {
    this.store = store;
  }

  /** Registers `schema` under `subject` and returns its global id; the same schema again returns the same id. */
  async register(subject: string, schema: AvroSchema): Promise<number> {
    return (await this.registerVersion(subject, schema)).id;
  }

  async registerVersion(subject: string, schema: AvroSchema): Promise<SubjectVersion> {
    validateSubject(subject);
    const type = createAvroType(schema, `subject "${subject}"`, subject);
    const schemaText = canonicalSchemaText(schema);
    const fingerprint = schemaFingerprint(schemaText);

    for (let attempt = 1; attempt <= MAX_REGISTER_ATTEMPTS; attempt++) {
      const versions = await this.store.getSubjectVersions(subject);
      const knownId = await this.store.getIdByFingerprint(fingerprint);
      const knownIndex = knownId === undefined ? -1 : versions.indexOf(knownId);
      if (knownId !== undefined && knownIndex >= 0) {
        return { subject, version: knownIndex + 1, id: knownId, schemaText, type: this.remember(knownId, schemaText, type).type };
      }
      const latestId = versions[versions.length - 1];
      if (latestId !== undefined) {
        const latest = await this.getById(latestId);
        if (!latest) throw new SluiceError('UNKNOWN', `schema registry: subject "${subject}" lists schema id ${latestId}, which the store does not have`);
        const problem = explainIncompatibility(type, latest.type);
        if (problem !== undefined) {
          throw new SchemaRegistryError(
            'SCHEMA_INCOMPATIBLE',
            subject,
            `subject "${subject}": the new schema is not BACKWARD compatible with version ${versions.length} (id ${latestId}): ${problem}`,
          );
        }
      }
      const result = await this.store.putVersion({ subject, fingerprint, schemaText, expectedVersionCount: versions.length });
      if (result.outcome === 'registered') {
        return { subject, version: result.version, id: result.id, schemaText, type: this.remember(result.id, schemaText, type).type };
      }
      // Someone else added a version meanwhile: check against theirs.
    }
    throw new SluiceError('SERVICE_UNAVAILABLE', `subject "${subject}": gave up registering after ${MAX_REGISTER_ATTEMPTS} concurrent changes`);
  }

  async getById(id: number): Promise<RegisteredSchema | undefined> {
    const cached = this.byId.get(id);
    if (cached) return cached;
    const schemaText = await this.store.getSchemaText(id);
    if (schemaText === undefined) return undefined;
    const context = `schema id ${id}`;
    return this.remember(id, schemaText, createAvroType(parseSchemaText(schemaText, context), context));
  }

  async getLatest(subject: string): Promise<SubjectVersion | undefined> {
    const versions = await this.store.getSubjectVersions(subject);
    return this.subjectVersion(subject, versions, versions.length);
  }

  async getVersion(subject: string, version: number): Promise<SubjectVersion | undefined> {
    return this.subjectVersion(subject, await this.store.getSubjectVersions(subject), version);
  }

  /** Version numbers of a subject, 1..n. */
  async listVersions(subject: string): Promise<number[]> {
    return (await this.store.getSubjectVersions(subject)).map((_id, index) => index + 1);
  }

  async listSubjects(): Promise<string[]> {
    return this.store.listSubjects();
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private async subjectVersion(subject: string, versions: number[], version: number): Promise<SubjectVersion | undefined> {
    const id = versions[version - 1];
    if (id === undefined || version < 1) return undefined;
    const registered = await this.getById(id);
    return registered && { ...registered, subject, version };
  }

  private remember(id: number, schemaText: string, type: Type): RegisteredSchema {
    const known = this.byId.get(id);
    if (known) return known;
    const registered = { id, schemaText, type };
    this.byId.set(id, registered);
    return registered;
  }
}

function validateSubject(subject: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH || /[\u0000-\u001f\u007f]/.test(subject)) {
    throw new SchemaRegistryError('SCHEMA_INVALID', String(subject), `subject must be 1..${MAX_SUBJECT_LENGTH} printable characters, got ${JSON.stringify(subject)}`);
  }
}

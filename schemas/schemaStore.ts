/**
 * Where the schema registry keeps its state. Two implementations: fileSchemaStore (one JSON file)
 * and redisSchemaStore (ioredis; in its own file so nothing that only encodes or decodes loads a
 * Redis client). The registry holds the logic (parsing, compatibility); a store only has to make
 * putVersion atomic.
 *
 * Ids are global and never reused: the same schema text gets the same id in every subject, so a
 * message's id identifies its writer schema regardless of subject (as in Confluent's registry).
 */

export interface PutVersionRequest {
  subject: string;
  /** sha256 of schemaText; the store deduplicates schemas by it. */
  fingerprint: string;
  /** Canonical JSON text of the schema (what getSchemaText returns). */
  schemaText: string;
  /**
   * How many versions the caller saw when it checked compatibility. If the subject has changed
   * since, the store must refuse with 'conflict' (the caller re-reads and checks again), so two
   * writers racing cannot slip an incompatible version past the check.
   */
  expectedVersionCount: number;
}

export type PutVersionResult = { outcome: 'registered'; id: number; version: number } | { outcome: 'conflict' };

export interface SchemaStore {
  getSchemaText(id: number): Promise<string | undefined>;
  getIdByFingerprint(fingerprint: string): Promise<number | undefined>;
  /** The schema ids of a subject's versions, oldest first: version n is at index n - 1. */
  getSubjectVersions(subject: string): Promise<number[]>;
  listSubjects(): Promise<string[]>;
  /** Atomically: give the schema an id (reusing the id of the same fingerprint) and append it as the subject's next version. */
  putVersion(request: PutVersionRequest): Promise<PutVersionResult>;
  close(): Promise<void>;
}

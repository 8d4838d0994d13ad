/**
 * Schema registry state in one JSON file. Every write goes to a temp file that is fsynced and then
 * renamed over the old one, so a crash leaves either the old or the new registry, never half of
 * one. Writers in different processes take a lock file (created with O_EXCL) around
 * read-check-write; readers need no lock because rename is atomic.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError, SluiceError, errorMessage } from '../core/errors';
import { sleep } from '../core/retry';
import type { PutVersionRequest, PutVersionResult, SchemaStore } from './schemaStore';

const FORMAT = 'sluice-schema-registry/1';

/** The file's JSON shape. */
interface RegistryFileJson {
  format: typeof FORMAT;
  nextId: number;
  schemas: Record<string, string>;
  fingerprints: Record<string, number>;
  subjects: Record<string, number[]>;
}

/** In memory we use Maps: subject names are user input, and "__proto__" must stay a plain key. */
interface RegistryState {
  nextId: number;
  schemas: Map<number, string>;
  fingerprints: Map<string, number>;
  subjects: Map<string, number[]>;
}

export interface FileSchemaStoreOptions {
  /** Give up waiting for another process's lock after this long. */
  lockTimeoutMs?: number;
  /** A lock file older than this is left over from a crashed process and is removed. */
  staleLockMs?: number;
}

/** Duck-typed: under jest's vm contexts Node's errors are not `instanceof Error` of the test realm. */
function isErrnoException(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

export class FileSchemaStore implements SchemaStore {
  readonly filePath: string;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;
  /** Serializes this process's writers, so they don't contend for the lock file among themselves. */
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(filePath: string, options: FileSchemaStoreOptions = {}) {
    this.filePath = path.resolve(filePath);
    this.lockPath = `${this.filePath}.lock`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  async getSchemaText(id: number): Promise<string | undefined> {
    return (await this.read()).schemas.get(id);
  }

  async getIdByFingerprint(fingerprint: string): Promise<number | undefined> {
    return (await this.read()).fingerprints.get(fingerprint);
  }

  async getSubjectVersions(subject: string): Promise<number[]> {
    return [...((await this.read()).subjects.get(subject) ?? [])];
  }

  async listSubjects(): Promise<string[]> {
    return [...(await this.read()).subjects.keys()].sort();
  }

  async putVersion(request: PutVersionRequest): Promise<PutVersionResult> {
    const run = this.writeQueue.then(() => this.withFileLock(() => this.putVersionLocked(request)));
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.writeQueue;
  }

  private async putVersionLocked(request: PutVersionRequest): Promise<PutVersionResult> {
    const state = await this.read();
    const versions = state.subjects.get(request.subject) ?? [];
    if (versions.length !== request.expectedVersionCount) return { outcome: 'conflict' };
    let id = state.fingerprints.get(request.fingerprint);
    if (id === undefined) {
      id = state.nextId;
      state.nextId += 1;
      state.schemas.set(id, request.schemaText);
      state.fingerprints.set(request.fingerprint, id);
    }
    state.subjects.set(request.subject, [...versions, id]);
    await this.write(state);
    return { outcome: 'registered', id, version: versions.length + 1 };
  }

  private async read(): Promise<RegistryState> {
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (error) {
      if (isErrnoException(error, 'ENOENT')) return { nextId: 1, schemas: new Map(), fingerprints: new Map(), subjects: new Map() };
      throw new ConfigError(this.filePath, `cannot read the schema registry file: ${errorMessage(error)}`);
    }
    return parseRegistryFile(this.filePath, text);
  }

  private async write(state: RegistryState): Promise<void> {
    const json: RegistryFileJson = {
      format: FORMAT,
      nextId: state.nextId,
      schemas: Object.fromEntries([...state.schemas].map(([id, text]) => [String(id), text])),
      fingerprints: Object.fromEntries(state.fingerprints),
      subjects: Object.fromEntries(state.subjects),
    };
    const tempPath = `${this.filePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.filePath), { recursive: true });
      const handle = await fs.open(tempPath, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(json, null, 2)}\n`);
        await handle.sync(); // durable before it becomes visible under the real name
      } finally {
        await handle.close();
      }
      await fs.rename(tempPath, this.filePath);
    } catch (error) {
      await fs.rm(tempPath, { force: true });
      throw new ConfigError(this.filePath, `cannot write the schema registry file: ${errorMessage(error)}`);
    }
  }

  private async withFileLock<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.lockTimeoutMs;
    await fs.mkdir(path.dirname(this.lockPath), { recursive: true });
    for (;;) {
      try {
        const handle = await fs.open(this.lockPath, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if (!isErrnoException(error, 'EEXIST')) throw new ConfigError(this.lockPath, `cannot create the lock file: ${errorMessage(error)}`);
        const lockStat = await fs.stat(this.lockPath).catch(() => undefined);
        if (lockStat && Date.now() - lockStat.mtimeMs > this.staleLockMs) {
          await fs.rm(this.lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new SluiceError('TIMEOUT', `could not lock ${this.lockPath} within ${this.lockTimeoutMs} ms; if no sluice process is registering schemas, delete it`);
        }
        await sleep(5 + Math.random() * 20);
      }
    }
    try {
      return await operation();
    } finally {
      await fs.rm(this.lockPath, { force: true });
    }
  }
}

function parseRegistryFile(filePath: string, text: string): RegistryState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(filePath, `schema registry file is not JSON: ${errorMessage(error)}`);
  }
  const file = json as Partial<RegistryFileJson> | null;
  if (
    file === null ||
    typeof file !== 'object' ||
    file.format !== FORMAT ||
    !Number.isSafeInteger(file.nextId) ||
    typeof file.schemas !== 'object' ||
    typeof file.fingerprints !== 'object' ||
    typeof file.subjects !== 'object'
  ) {
    throw new ConfigError(filePath, `not a schema registry file (expected "format": "${FORMAT}")`);
  }
  return {
    nextId: file.nextId as number,
    schemas: new Map(Object.entries(file.schemas ?? {}).map(([id, schemaText]) => [Number(id), schemaText])),
    fingerprints: new Map(Object.entries(file.fingerprints ?? {})),
    subjects: new Map(Object.entries(file.subjects ?? {})),
  };
}

/** A schema registry on a fresh temp file, for tests that don't care which store backs it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';

export interface TempRegistry {
  registry: SchemaRegistry;
  filePath: string;
  dir: string;
  cleanup(): Promise<void>;
}

export function tempRegistry(): TempRegistry {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-schemas-'));
  const filePath = path.join(dir, 'registry.json');
  const registry = new SchemaRegistry(new FileSchemaStore(filePath));
  return {
    registry,
    filePath,
    dir,
    async cleanup() {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The 5-byte Confluent header for a schema id. */
export function wireHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return header;
}

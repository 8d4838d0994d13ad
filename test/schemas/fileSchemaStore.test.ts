import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { describeSchemaStoreContract } from './schemaStoreContract';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sluice-file-store-'));
}

describeSchemaStoreContract('FileSchemaStore', async () => {
  const dir = tempDir();
  const filePath = path.join(dir, 'nested', 'registry.json');
  const opened: FileSchemaStore[] = [];
  const open = () => {
    const store = new FileSchemaStore(filePath);
    opened.push(store);
    return store;
  };
  return {
    store: open(),
    twin: open,
    async cleanup() {
      await Promise.all(opened.map((store) => store.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('FileSchemaStore', () => {
  let dir: string;
  let filePath: string;

  beforeEach(() => {
    dir = tempDir();
    filePath = path.join(dir, 'registry.json');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves only the registry file behind: no temp file, no lock file', async () => {
    const store = new FileSchemaStore(filePath);
    await store.putVersion({ subject: 's', fingerprint: 'f', schemaText: '"string"', expectedVersionCount: 0 });
    expect(readdirSync(dir)).toEqual(['registry.json']);
  });

  it('refuses a file that is not a registry with a ConfigError naming the file', async () => {
    writeFileSync(filePath, '{"hello": 1}');
    await expect(new FileSchemaStore(filePath).listSubjects()).rejects.toMatchObject({ code: 'CONFIG_INVALID', path: filePath });
    writeFileSync(filePath, 'not json');
    await expect(new FileSchemaStore(filePath).getSchemaText(1)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not JSON') });
  });

  it('waits for another process holding the lock, and gives up with TIMEOUT', async () => {
    writeFileSync(`${filePath}.lock`, '12345');
    const store = new FileSchemaStore(filePath, { lockTimeoutMs: 100 });
    await expect(store.putVersion({ subject: 's', fingerprint: 'f', schemaText: '"string"', expectedVersionCount: 0 })).rejects.toMatchObject({ code: 'TIMEOUT', retriable: true });
    expect(existsSync(`${filePath}.lock`)).toBe(true); // not ours to remove
  });

  it('removes a stale lock left by a crashed process', async () => {
    writeFileSync(`${filePath}.lock`, '12345');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${filePath}.lock`, old, old);
    const store = new FileSchemaStore(filePath, { lockTimeoutMs: 100, staleLockMs: 30_000 });
    await expect(store.putVersion({ subject: 's', fingerprint: 'f', schemaText: '"string"', expectedVersionCount: 0 })).resolves.toMatchObject({ outcome: 'registered' });
    expect(existsSync(`${filePath}.lock`)).toBe(false);
  });
});

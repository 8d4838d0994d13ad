/**
 * One contract every SchemaStore must meet, run against the file store and the Redis store
 * (like the stream conformance suite: a new store is done when this passes).
 */
import type { SchemaStore } from '../../schemas/schemaStore';

export interface StoreUnderTest {
  store: SchemaStore;
  /** Another instance on the same state (another process, in effect). */
  twin(): SchemaStore;
  cleanup(): Promise<void>;
}

export function describeSchemaStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} (SchemaStore contract)`, () => {
    let subject: StoreUnderTest;

    beforeEach(async () => {
      subject = await open();
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    it('starts empty', async () => {
      const { store } = subject;
      await expect(store.getSchemaText(1)).resolves.toBeUndefined();
      await expect(store.getIdByFingerprint('f')).resolves.toBeUndefined();
      await expect(store.getSubjectVersions('s')).resolves.toEqual([]);
      await expect(store.listSubjects()).resolves.toEqual([]);
    });

    it('gives ids from 1 and versions from 1, and reads them back', async () => {
      const { store } = subject;
      await expect(store.putVersion({ subject: 's', fingerprint: 'f1', schemaText: '"string"', expectedVersionCount: 0 })).resolves.toEqual({ outcome: 'registered', id: 1, version: 1 });
      await expect(store.putVersion({ subject: 's', fingerprint: 'f2', schemaText: '"long"', expectedVersionCount: 1 })).resolves.toEqual({ outcome: 'registered', id: 2, version: 2 });
      await expect(store.getSubjectVersions('s')).resolves.toEqual([1, 2]);
      await expect(store.getSchemaText(2)).resolves.toBe('"long"');
      await expect(store.getIdByFingerprint('f1')).resolves.toBe(1);
      await expect(subject.twin().getSubjectVersions('s')).resolves.toEqual([1, 2]);
    });

    it('reuses the id of a known fingerprint in another subject', async () => {
      const { store } = subject;
      await store.putVersion({ subject: 'a', fingerprint: 'same', schemaText: '"string"', expectedVersionCount: 0 });
      await expect(store.putVersion({ subject: 'b', fingerprint: 'same', schemaText: '"string"', expectedVersionCount: 0 })).resolves.toEqual({ outcome: 'registered', id: 1, version: 1 });
      await expect(store.listSubjects()).resolves.toEqual(['a', 'b']);
    });

    it('refuses a version when the subject changed since the caller looked, and writes nothing', async () => {
      const { store } = subject;
      await store.putVersion({ subject: 's', fingerprint: 'f1', schemaText: '"string"', expectedVersionCount: 0 });
      await expect(store.putVersion({ subject: 's', fingerprint: 'f2', schemaText: '"long"', expectedVersionCount: 0 })).resolves.toEqual({ outcome: 'conflict' });
      await expect(store.getSubjectVersions('s')).resolves.toEqual([1]);
      await expect(store.getIdByFingerprint('f2')).resolves.toBeUndefined();
    });

    it('lets exactly one of several concurrent writers with the same expectation win', async () => {
      const stores = [subject.store, subject.twin(), subject.twin(), subject.twin()];
      const results = await Promise.all(stores.map((store, i) => store.putVersion({ subject: 'race', fingerprint: `f${i}`, schemaText: `"v${i}"`, expectedVersionCount: 0 })));
      expect(results.filter((result) => result.outcome === 'registered')).toHaveLength(1);
      await expect(subject.store.getSubjectVersions('race')).resolves.toHaveLength(1);
      await Promise.all(stores.slice(1).map((store) => store.close()));
    });

    it('keeps subject names that look like object internals as plain names', async () => {
      const { store } = subject;
      await store.putVersion({ subject: '__proto__', fingerprint: 'p', schemaText: '"string"', expectedVersionCount: 0 });
      await store.putVersion({ subject: 'constructor', fingerprint: 'p', schemaText: '"string"', expectedVersionCount: 0 });
      await expect(store.getSubjectVersions('__proto__')).resolves.toEqual([1]);
      await expect(subject.twin().listSubjects()).resolves.toEqual(['__proto__', 'constructor']);
    });
  });
}

/** Lake folder and file names: hour partitions of any storable time, bounded and deterministic names. */
import fc from 'fast-check';
import { compactedFileName, hourPartitionOf, isCompactedFileName, isSegmentFileName, isTempFileName, partitionEnd, partitionStart, segmentFileName, syncMarkerOf, tempFileName } from '../../../processors/storage/lake/lakePaths';
import { MAX_STORABLE_TIME, MIN_STORABLE_TIME } from '../../../processors/storage/storableValues';

describe('lake paths', () => {
  it('puts any storable time in the UTC hour that holds it', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_STORABLE_TIME, max: MAX_STORABLE_TIME }), (time) => {
      const partition = hourPartitionOf(time);
      expect(partition).toMatch(/^dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}$/);
      const start = partitionStart(partition) as number;
      expect(start).toBeLessThanOrEqual(time);
      expect(partitionEnd(partition)).toBe(start + 3_600_000);
      expect(time).toBeLessThan(start + 3_600_000);
    }));
    expect(hourPartitionOf(Date.UTC(2024, 4, 1, 13, 59, 59, 999))).toBe('dt=2024-05-01/hour=13');
    expect(hourPartitionOf(-1)).toBe('dt=1969-12-31/hour=23');
    expect(partitionStart('dt=2024-02-30/hour=01')).toBeUndefined();
    expect(partitionStart('dt=2024-05-01/hour=24')).toBeUndefined();
  });

  it('names a segment from its scope, first and last position and content, under 255 bytes', () => {
    const sequence = '4'.repeat(56);
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), (stream, datas) => {
      const records = datas.map((data, i) => ({ position: `${sequence.slice(0, 55)}${i}`, data: Buffer.from(data) }));
      const name = segmentFileName(`kinesis:${stream}/shardId-000000000000`, records);
      expect(Buffer.byteLength(name)).toBeLessThan(255);
      expect(name).not.toContain('/');
      expect(isSegmentFileName(name)).toBe(true);
      expect(segmentFileName(`kinesis:${stream}/shardId-000000000000`, records)).toBe(name);
    }));
    const records = [{ position: '7', data: Buffer.from('a') }, { position: '9', data: Buffer.from('b') }];
    expect(segmentFileName('kafka:enriched-0', records)).toMatch(/^seg-kafka%3Aenriched-0-7-9-[0-9a-f]{16}\.avro$/);
    // same positions, other content (a topic made again): another name, not mistaken for a retry
    expect(segmentFileName('kafka:enriched-0', [records[0] as { position: string; data: Buffer }, { position: '9', data: Buffer.from('c') }])).not.toBe(segmentFileName('kafka:enriched-0', records));
  });

  it('keeps temp files apart from the files readers read, and derives sync markers from names', () => {
    const temp = tempFileName(compactedFileName('a\u00001', 'b\u00002'));
    expect(isTempFileName(temp)).toBe(true);
    expect(isCompactedFileName(temp) || isSegmentFileName(temp)).toBe(false);
    expect(syncMarkerOf('dt=2024-05-01/hour=10', 'x.avro')).toEqual(syncMarkerOf('dt=2024-05-01/hour=10', 'x.avro'));
    expect(syncMarkerOf('dt=2024-05-01/hour=10', 'x.avro')).toHaveLength(16);
    expect(syncMarkerOf('dt=2024-05-01/hour=10', 'y.avro')).not.toEqual(syncMarkerOf('dt=2024-05-01/hour=10', 'x.avro'));
  });
});

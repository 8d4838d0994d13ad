import { fc, test } from '@fast-check/jest';
import { AckLedger } from '../../simulators/ackLedger';

describe('AckLedger', () => {
  it('keeps acked readings per device as compact inclusive ranges, ignoring repeats and order', () => {
    const ledger = new AckLedger();
    for (const seq of [5, 0, 1, 2, 9, 3, 2, 10, 11, 700]) ledger.recordAccepted('dev-b', seq);
    ledger.recordAccepted('dev-a', 0);
    expect(ledger.acceptedRanges()).toEqual({ 'dev-a': [[0, 0]], 'dev-b': [[0, 3], [5, 5], [9, 11], [700, 700]] });
    expect(ledger.acceptedCount).toBe(10);
    expect(ledger.has('dev-b', 700)).toBe(true);
    expect(ledger.has('dev-b', 4)).toBe(false);
    expect(ledger.has('dev-b', 100_000)).toBe(false);
    expect(ledger.has('dev-c', 0)).toBe(false);
    expect([...ledger.acceptedReadings()].map(({ deviceId, seq }) => `${deviceId}/${seq}`)).toEqual([
      'dev-a/0',
      ...[0, 1, 2, 3, 5, 9, 10, 11, 700].map((seq) => `dev-b/${seq}`),
    ]);
  });

  it('keeps readings ingest should reject apart, up to a limit, counting the rest', () => {
    const ledger = new AckLedger(2);
    for (const seq of [1, 2, 3]) ledger.recordRejected({ deviceId: 'dev-a', seq, fault: 'malformed-json', topic: 't' });
    expect(ledger.rejected.map((r) => r.seq)).toEqual([1, 2]);
    expect(ledger.rejectedDropped).toBe(1);
    expect(ledger.acceptedCount).toBe(0);
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 45 }), fc.array(fc.integer({ min: -3000, max: 3000 }), { maxLength: 200 })])(
    'agrees with a set of what was acked, however far from 0 the sequence numbers start and in whatever order they come',
    (start, offsets) => {
      const ledger = new AckLedger();
      const model = new Set<number>();
      for (const offset of offsets) {
        const seq = Math.max(0, start + offset);
        ledger.recordAccepted('dev', seq);
        model.add(seq);
      }
      expect(ledger.acceptedCount).toBe(model.size);
      const sorted = [...model].sort((a, b) => a - b);
      expect([...ledger.acceptedReadings()].map((reading) => reading.seq)).toEqual(sorted);
      for (const seq of sorted) expect(ledger.has('dev', seq)).toBe(true);
      expect(ledger.has('dev', start + 5000)).toBe(false);
      expect(ledger.has('dev', Math.max(0, start - 5000))).toBe(model.has(Math.max(0, start - 5000)));
    },
  );
});

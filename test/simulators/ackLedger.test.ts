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
});

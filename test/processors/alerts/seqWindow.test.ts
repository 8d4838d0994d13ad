import { fc, test } from '@fast-check/jest';
import { SEQ_WINDOW, SeqWindow } from '../../../processors/alerts/seqWindow';
import type { SeqVerdict } from '../../../processors/alerts/seqWindow';

/** The same rules with a plain set: what the bitmap must agree with. */
class SeqSetModel {
  private seen = new Set<number>();
  private max: number | undefined;

  observe(seq: number, newerThanAll: boolean): SeqVerdict {
    if (this.max === undefined || seq > this.max) {
      this.max = seq;
      this.seen.add(seq);
      return 'new';
    }
    if (this.max - seq >= SEQ_WINDOW) {
      if (!newerThanAll) return 'stale';
      this.max = seq;
      this.seen = new Set([seq]);
      return 'restart';
    }
    if (this.seen.has(seq)) return 'duplicate';
    this.seen.add(seq);
    return 'new';
  }
}

const step = fc.record({
  seq: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 * SEQ_WINDOW }), fc.integer({ min: 0, max: 2 ** 40 })),
  newer: fc.boolean(),
  // the window goes through Redis as JSON between batches
  persist: fc.boolean(),
});

describe('SeqWindow', () => {
  test.prop([fc.array(step, { maxLength: 200 })])('says new, duplicate, stale or restart exactly as a set of seen seqs would, across JSON round trips', (steps) => {
    const model = new SeqSetModel();
    let window = new SeqWindow();
    for (const { seq, newer, persist } of steps) {
      expect(window.observe(seq, newer)).toBe(model.observe(seq, newer));
      if (persist) window = new SeqWindow(JSON.parse(JSON.stringify(window.toJSON())) as ReturnType<SeqWindow['toJSON']>);
    }
  });

  it('counts a reading once however often it comes within the window', () => {
    const window = new SeqWindow();
    expect(window.observe(10, true)).toBe('new');
    expect(window.observe(10, false)).toBe('duplicate');
    expect(window.observe(9, false)).toBe('new');
    expect(window.observe(9, false)).toBe('duplicate');
  });
});

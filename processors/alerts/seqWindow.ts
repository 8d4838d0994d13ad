/**
 * Which of a device's recent sequence numbers were already evaluated, so that one reading
 * delivered twice (a replay at another position, a duplicate the device sent) counts once.
 *
 * The window keeps the highest seq seen and a bitmap of the `SEQ_WINDOW` seqs at and below it
 * (bit i = seq `max - i`). A seq further back than the window is "stale": it cannot be told
 * apart from a duplicate, so rules do not evaluate it (the README explains why this is rare:
 * transform dedupes first, and out-of-order backlogs are far shorter). One exception: a seq far
 * below the window with an event time newer than anything seen means the device restarted its
 * numbering; the window then starts again at that seq instead of ignoring the device forever.
 */

export const SEQ_WINDOW = 512;
const MASK = (1n << BigInt(SEQ_WINDOW)) - 1n;

/** JSON form: [max, bitmap as hex]; null = nothing seen yet. */
export type SeqWindowJson = [number, string] | null;

export type SeqVerdict = 'new' | 'duplicate' | 'stale' | 'restart';

export class SeqWindow {
  private max: number | undefined;
  private bits: bigint;

  constructor(json: SeqWindowJson = null) {
    this.max = json ? json[0] : undefined;
    this.bits = json ? BigInt(`0x${json[1] || '0'}`) : 0n;
  }

  /**
   * Records `seq` and says what it was. `newerThanAll` (its event time is after every reading
   * evaluated so far) tells a restarted device from a stale reading.
   */
  observe(seq: number, newerThanAll: boolean): SeqVerdict {
    if (this.max === undefined) {
      this.max = seq;
      this.bits = 1n;
      return 'new';
    }
    if (seq > this.max) {
      const shift = seq - this.max;
      this.bits = shift >= SEQ_WINDOW ? 1n : ((this.bits << BigInt(shift)) | 1n) & MASK;
      this.max = seq;
      return 'new';
    }
    const back = this.max - seq;
    if (back >= SEQ_WINDOW) {
      if (!newerThanAll) return 'stale';
      this.max = seq;
      this.bits = 1n;
      return 'restart';
    }
    const bit = 1n << BigInt(back);
    if ((this.bits & bit) !== 0n) return 'duplicate';
    this.bits |= bit;
    return 'new';
  }

  toJSON(): SeqWindowJson {
    return this.max === undefined ? null : [this.max, this.bits.toString(16)];
  }
}

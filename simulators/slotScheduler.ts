/**
 * Turns a target rate into reading slots without drift: the number of slots due is computed
 * from the elapsed time since the start (slot k is due at k / rate seconds), never by adding
 * intervals timer by timer, so late timers are caught up instead of accumulating error.
 * If the process falls more than `maxLagMs` behind (a GC pause, a saturated CPU), the oldest
 * due slots are skipped and counted rather than fired in one burst.
 */
export class SlotScheduler {
  private issued = 0;
  lagSkipped = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly startMs: number,
    private readonly maxLagMs: number,
  ) {}

  /** Slots due at `nowMs` that have not been taken yet. */
  due(nowMs: number): number {
    const target = Math.floor(((nowMs - this.startMs) * this.ratePerSecond) / 1000);
    const maxLagSlots = Math.max(1, Math.floor((this.maxLagMs * this.ratePerSecond) / 1000));
    if (target - this.issued > maxLagSlots) {
      this.lagSkipped += target - this.issued - maxLagSlots;
      this.issued = target - maxLagSlots;
    }
    return Math.max(0, target - this.issued);
  }

  /** The index of the next slot, and marks it taken. */
  take(): number {
    const slot = this.issued;
    this.issued += 1;
    return slot;
  }

  /** Milliseconds until the next slot is due (0 if one is due now). */
  msUntilNext(nowMs: number): number {
    const nextDueMs = this.startMs + ((this.issued + 1) * 1000) / this.ratePerSecond;
    return Math.max(0, nextDueMs - nowMs);
  }
}

import { SlotScheduler } from '../../simulators/slotScheduler';

describe('SlotScheduler', () => {
  it('computes due slots from elapsed time, so irregular ticks do not drift', () => {
    const scheduler = new SlotScheduler(1000, 0, 10_000);
    let taken = 0;
    // ticks at uneven times, as timers fire; each takes everything due
    for (const now of [0.4, 1.7, 5, 5.2, 13.9, 250.01, 999.99, 1000]) {
      let due = scheduler.due(now);
      while (due > 0) {
        scheduler.take();
        taken += 1;
        due -= 1;
      }
      expect(taken).toBe(Math.floor(now));
    }
    expect(scheduler.lagSkipped).toBe(0);
  });

  it('hands out slot indexes in order and says when the next one is due', () => {
    const scheduler = new SlotScheduler(4, 100, 10_000);
    expect(scheduler.due(100)).toBe(0);
    expect(scheduler.msUntilNext(100)).toBe(250);
    expect(scheduler.due(600)).toBe(2);
    expect([scheduler.take(), scheduler.take()]).toEqual([0, 1]);
    expect(scheduler.msUntilNext(600)).toBe(250);
  });

  it('skips and counts slots when it falls further behind than maxLagMs, instead of bursting', () => {
    const scheduler = new SlotScheduler(1000, 0, 100);
    expect(scheduler.due(5000)).toBe(100);
    expect(scheduler.lagSkipped).toBe(4900);
    expect(scheduler.take()).toBe(4900);
  });
});

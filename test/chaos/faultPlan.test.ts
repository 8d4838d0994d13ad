/**
 * The fault plan: the same seed gives the same plan, faults fall inside the load in order with
 * room between them, a plan as long as the kinds list injects every kind, and unknown kinds are
 * refused by name.
 */
import fc from 'fast-check';
import { FAULT_KINDS, parseFaultKinds, planFaults } from '../../cli/chaos/faultPlan';

describe('planFaults', () => {
  it('is a function of the seed, stays inside the load, in order, and deals every kind once per round', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 20_000, max: 3_600_000 }), (seed, count, loadMs) => {
      const plan = planFaults(seed, count, loadMs, FAULT_KINDS);
      expect(planFaults(seed, count, loadMs, FAULT_KINDS)).toEqual(plan);
      expect(plan).toHaveLength(count);
      for (let i = 0; i < plan.length; i += 1) {
        const fault = plan[i]!;
        expect(fault.atMs).toBeGreaterThan(0);
        expect(fault.atMs).toBeLessThan(loadMs * 0.85);
        if (i > 0) expect(fault.atMs).toBeGreaterThan(plan[i - 1]!.atMs);
      }
      for (let round = 0; round + FAULT_KINDS.length <= count; round += FAULT_KINDS.length) {
        expect(new Set(plan.slice(round, round + FAULT_KINDS.length).map((f) => f.kind)).size).toBe(FAULT_KINDS.length);
      }
    }));
  });

  it('plans nothing for zero faults and only the kinds asked for', () => {
    expect(planFaults(1, 0, 60_000, FAULT_KINDS)).toEqual([]);
    const kinds = parseFaultKinds('kafka-crash,kill-ingest');
    expect(new Set(planFaults(5, 10, 60_000, kinds).map((f) => f.kind))).toEqual(new Set(['kafka-crash', 'kill-ingest']));
  });

  it('expands all and kill-any, and refuses an unknown kind by name', () => {
    expect(parseFaultKinds('all')).toEqual([...FAULT_KINDS]);
    expect(parseFaultKinds('kill-any').every((kind) => kind.startsWith('kill-'))).toBe(true);
    expect(() => parseFaultKinds('kafka-crash,kill-everything')).toThrow(/unknown fault "kill-everything"/);
    expect(() => parseFaultKinds(' , ')).toThrow(/at least one/);
  });
});

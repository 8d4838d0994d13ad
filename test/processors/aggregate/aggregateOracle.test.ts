/**
 * aggregateDifferences, the comparison `sluice chaos` trusts: equal maps give no difference, and
 * a missing window, an extra window, a changed count and a changed sum are each reported.
 */
import { aggregateDifferences, referenceAggregates } from '../../../processors/aggregate/aggregateOracle';
import type { Aggregate } from '../../../schemas/records';
import { T0, reading, windowSettings } from './aggregateTestKit';

const settings = windowSettings('tumbling:10s');
const readings = [reading('d1', 1, T0 + 1000, { temperature: 20 }), reading('d1', 2, T0 + 2000, { temperature: 22 }), reading('d2', 1, T0 + 15_000, { temperature: 30 })];

it('reports nothing for equal aggregates and names each kind of difference', () => {
  const expected = referenceAggregates(readings, settings);
  expect(expected.size).toBeGreaterThan(0);
  expect(aggregateDifferences(referenceAggregates([...readings, readings[0]!], settings), expected)).toEqual([]);

  const [firstKey, first] = [...expected.entries()][0] as [string, Aggregate];
  const missing = new Map(expected);
  missing.delete(firstKey);
  expect(aggregateDifferences(missing, expected)).toEqual([`missing ${firstKey}`]);
  expect(aggregateDifferences(expected, missing)).toEqual([`unexpected ${firstKey}`]);

  const counted = new Map(expected).set(firstKey, { ...first, count: first.count + 1 });
  expect(aggregateDifferences(counted, expected)).toHaveLength(1);
  const summed = new Map(expected).set(firstKey, { ...first, sum: first.sum + 0.5 });
  expect(aggregateDifferences(summed, expected)[0]).toMatch(/sum\/mean\/m2/);
});

/**
 * Which concurrent lane of a shard a record goes to with ParallelizationFactor > 1. Like
 * Lambda, records with the same partition key always go to the same lane, so their order
 * holds; FNV-1a keeps the spread even without a crypto hash per record.
 */
export function laneOf(key: string, lanes: number): number {
  if (lanes <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}

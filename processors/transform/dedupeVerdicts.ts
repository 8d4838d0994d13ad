/**
 * Duplicate detection, the pure part. A reading's identity is (deviceId, seq); a stream
 * record's is its (scope, position), fingerprinted as its `claim`. The window (dedupeWindow.ts)
 * remembers, per (deviceId, seq), the claim of the stream record whose enriched reading was
 * produced. A record is then:
 *
 * - `new`: nothing was emitted for its (deviceId, seq): emit it;
 * - `redelivery`: what was emitted came from this very stream record (a retry, or a replay after
 *   a crash between produce and checkpoint): emit it again. Dropping it would be wrong when the
 *   earlier attempt never produced; emitting twice is harmless, downstream counts (deviceId, seq) once;
 * - `duplicate`: the same reading from another stream record (the device sent it twice, ingest
 *   produced it again) whose enriched copy was produced, or that comes earlier in this batch: drop it.
 *
 * Because the window is written only after the produce succeeded, `duplicate` is said only of a
 * reading that is durable downstream (or is emitted by this very batch): dropping never loses data.
 */

export type DedupeVerdict = 'new' | 'redelivery' | 'duplicate';

export interface DedupeCandidate {
  deviceId: string;
  seq: number;
  claim: string;
}

/**
 * Verdicts in batch order. `stored[i]` is the claim the window holds for candidate i's
 * (deviceId, seq), or null. Within the batch the first record of an identity wins.
 */
export function dedupeVerdicts(candidates: readonly DedupeCandidate[], stored: readonly (string | null)[]): DedupeVerdict[] {
  const emittedInBatch = new Set<string>();
  return candidates.map((candidate, index) => {
    const identity = `${candidate.seq}\u0000${candidate.deviceId}`;
    if (emittedInBatch.has(identity)) return 'duplicate';
    const claim = stored[index] ?? null;
    if (claim !== null && claim !== candidate.claim) return 'duplicate';
    emittedInBatch.add(identity);
    return claim === null ? 'new' : 'redelivery';
  });
}

/**
 * A KCL-style shard lease as stored in Redis (one hash per shard, see runtime/redis/keys.ts),
 * its checkpoint vocabulary, and how a checkpoint becomes a reader's StartPosition.
 */
import { SluiceError } from '../../core/errors';
import type { StartPosition } from '../../streams/streamClient';
import { isCanonicalPosition } from '../redis/positionOrder';

/** Checkpoint sentinels, as KCL names them. Any other checkpoint is a sequence number. */
export const CHECKPOINT = {
  TRIM_HORIZON: 'TRIM_HORIZON',
  LATEST: 'LATEST',
  AT_TIMESTAMP: 'AT_TIMESTAMP',
  /** the shard was closed and read to its end: its children may start */
  SHARD_END: 'SHARD_END',
} as const;

/** Where a new lease starts (the mapping's StartingPosition). */
export type InitialPosition = { type: 'TRIM_HORIZON' } | { type: 'LATEST' } | { type: 'AT_TIMESTAMP'; timestamp: number };

/** Where `rewind` may put a checkpoint: a start sentinel or a sequence number. */
export type RewindPosition = InitialPosition | { type: 'SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ShardLease {
  shardId: string;
  /** worker id, or null when nobody holds it */
  owner: string | null;
  /** bumped on every take, renewal and rewind: the fencing token a holder must present */
  counter: number;
  /** a sequence number, a start sentinel or SHARD_END */
  checkpoint: string;
  /** epoch ms, when checkpoint is AT_TIMESTAMP */
  atTimestamp: number | null;
  parentShardIds: string[];
  /** owner changes since the last checkpoint (KCL): a shard that keeps moving without progress is stuck */
  ownerSwitchesSinceCheckpoint: number;
  /** Redis time (epoch ms) after which the lease may be taken; 0 when unowned */
  expiresAt: number;
}

/** Proof of holding a lease, checked inside other scripts (fenced window writes). */
export interface LeaseFence {
  worker: string;
  counter: number;
}

/** A shard as the stream describes it (streams' PartitionInfo fits). */
export interface ShardDescription {
  id: string;
  parents: string[];
  closed: boolean;
}

function field(pairs: Map<string, string>, name: string): string {
  return pairs.get(name) ?? '';
}

/** Parses a lease hash (HGETALL as a flat pairs array or an object). */
export function parseShardLease(reply: string[] | Record<string, string>): ShardLease {
  const pairs = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.set(reply[i] as string, reply[i + 1] as string);
  } else {
    for (const [key, value] of Object.entries(reply)) pairs.set(key, value);
  }
  const owner = field(pairs, 'owner');
  const atTimestamp = field(pairs, 'atTimestamp');
  let parentShardIds: string[] = [];
  try {
    const parsed: unknown = JSON.parse(field(pairs, 'parentShardIds') || '[]');
    if (Array.isArray(parsed)) parentShardIds = parsed.filter((id): id is string => typeof id === 'string');
  } catch {
    // a hand-edited lease: treat as no parents rather than crash the coordinator
  }
  return {
    shardId: field(pairs, 'shardId'),
    owner: owner === '' ? null : owner,
    counter: Number(field(pairs, 'counter') || 0),
    checkpoint: field(pairs, 'checkpoint'),
    atTimestamp: atTimestamp === '' ? null : Number(atTimestamp),
    parentShardIds,
    ownerSwitchesSinceCheckpoint: Number(field(pairs, 'ownerSwitchesSinceCheckpoint') || 0),
    expiresAt: Number(field(pairs, 'expiresAt') || 0),
  };
}

export function isShardEnd(lease: Pick<ShardLease, 'checkpoint'>): boolean {
  return lease.checkpoint === CHECKPOINT.SHARD_END;
}

/** Held by someone whose lease has not expired at `now` (Redis ms). */
export function isHeld(lease: Pick<ShardLease, 'owner' | 'expiresAt'>, now: number): boolean {
  return lease.owner !== null && lease.expiresAt > now;
}

/**
 * Where a reader of this shard starts: after the checkpointed sequence number, or at the start
 * sentinel's position; null at SHARD_END (nothing left to read).
 */
export function startPositionOf(lease: Pick<ShardLease, 'checkpoint' | 'atTimestamp' | 'shardId'>): StartPosition | null {
  switch (lease.checkpoint) {
    case CHECKPOINT.SHARD_END:
      return null;
    case CHECKPOINT.TRIM_HORIZON:
      return { type: 'earliest' };
    case CHECKPOINT.LATEST:
      return { type: 'latest' };
    case CHECKPOINT.AT_TIMESTAMP:
      if (lease.atTimestamp === null) throw new SluiceError('POSITION_INVALID', `lease ${lease.shardId}: AT_TIMESTAMP without a timestamp`);
      return { type: 'at-timestamp', timestamp: lease.atTimestamp };
    default:
      if (!isCanonicalPosition(lease.checkpoint)) throw new SluiceError('POSITION_INVALID', `lease ${lease.shardId}: unknown checkpoint ${JSON.stringify(lease.checkpoint)}`);
      return { type: 'after', position: lease.checkpoint };
  }
}

/** The checkpoint string and timestamp a start/rewind position is stored as. */
export function checkpointFields(position: RewindPosition): { checkpoint: string; atTimestamp: string } {
  switch (position.type) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { checkpoint: position.type, atTimestamp: '' };
    case 'AT_TIMESTAMP':
      if (!Number.isFinite(position.timestamp)) throw new SluiceError('POSITION_INVALID', `AT_TIMESTAMP needs an epoch-ms timestamp, got ${position.timestamp}`);
      return { checkpoint: CHECKPOINT.AT_TIMESTAMP, atTimestamp: String(Math.trunc(position.timestamp)) };
    case 'SEQUENCE_NUMBER':
      if (!isCanonicalPosition(position.sequenceNumber)) {
        throw new SluiceError('POSITION_INVALID', `a sequence number is a decimal string, got ${JSON.stringify(position.sequenceNumber)}`);
      }
      return { checkpoint: position.sequenceNumber, atTimestamp: '' };
  }
}

/** Parses what an admin types for `sluice checkpoints rewind`: a sentinel, `AT_TIMESTAMP:<ms|ISO>`, or a sequence number. */
export function parseRewindPosition(text: string): RewindPosition {
  const trimmed = text.trim();
  if (trimmed === CHECKPOINT.TRIM_HORIZON || trimmed === CHECKPOINT.LATEST) return { type: trimmed };
  if (trimmed.startsWith(`${CHECKPOINT.AT_TIMESTAMP}:`)) {
    const value = trimmed.slice(CHECKPOINT.AT_TIMESTAMP.length + 1);
    const timestamp = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(timestamp)) throw new SluiceError('POSITION_INVALID', `AT_TIMESTAMP:<epoch ms or ISO time> expected, got ${JSON.stringify(text)}`);
    return { type: 'AT_TIMESTAMP', timestamp };
  }
  if (isCanonicalPosition(trimmed)) return { type: 'SEQUENCE_NUMBER', sequenceNumber: trimmed };
  throw new SluiceError('POSITION_INVALID', `a position is TRIM_HORIZON, LATEST, AT_TIMESTAMP:<time> or a sequence number, got ${JSON.stringify(text)}`);
}

/**
 * Where a mapping's partitions come from and who owns them. Kinesis has no coordinator of its
 * own: ownership is KCL-style leases in Redis. Kafka coordinates consumers itself: ownership is
 * its consumer-group protocol. Both hand the runner the same thing: an owned partition with a
 * reader positioned after the last checkpoint, a fenced checkpoint, and a signal for when the
 * partition is taken away.
 */
import type { PartitionId, PartitionReader, Position } from '../../streams/streamClient';

export interface OwnedPartition {
  partition: PartitionId;
  reader: PartitionReader;
  /** everything up to and including `position` is done; rejects with LEASE_LOST once ownership is gone */
  checkpoint(position: Position): Promise<void>;
  /** the closed partition was read to its end and everything is done (Kinesis SHARD_END) */
  endOfPartition?(): Promise<void>;
  /** aborted when ownership moves elsewhere: stop at once, checkpoint nothing more */
  lost: AbortSignal;
}

export interface PartitionSourceListener {
  owned(partition: OwnedPartition): void;
  /** the partition must stop; resolve once its worker has settled */
  lost(partition: PartitionId): Promise<void>;
}

export interface PartitionSource {
  start(listener: PartitionSourceListener): Promise<void>;
  /** partitions this worker owns now */
  owned(): PartitionId[];
  /** give up ownership (after the runner drained its workers) */
  stop(): Promise<void>;
}

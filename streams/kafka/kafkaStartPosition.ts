/**
 * Where a reader starts, as a Kafka offset (ListOffsets on the reader's own cluster).
 *
 * - earliest: the log start offset; latest: the high watermark when the reader opens.
 * - at-timestamp: the first offset whose record timestamp is >= the timestamp (Kafka's time
 *   index: CreateTime topics index the producer's time, LogAppendTime topics the broker's),
 *   or the high watermark when no record is that recent.
 * - at / after: a position this partition has or will have next; below the log start is
 *   POSITION_EXPIRED (retention removed it), beyond the high watermark POSITION_INVALID.
 */
import { SluiceError } from '../../core/errors';
import type { StartPosition } from '../streamClient';
import type { KafkajsCluster } from './kafkajsInternals';

const OFFSET = /^(0|[1-9]\d{0,18})$/;
const MAX_OFFSET = 2n ** 63n - 1n;

async function listOffset(cluster: KafkajsCluster, topic: string, partition: number, query: { fromBeginning?: boolean; fromTimestamp?: number }): Promise<bigint> {
  const [answer] = await cluster.fetchTopicsOffset([{ topic, partitions: [{ partition }], ...query }]);
  const offset = answer?.partitions.find((entry) => entry.partition === partition)?.offset;
  if (offset === undefined) throw new SluiceError('STREAM_NOT_READY', `kafka topic "${topic}" partition ${partition}: no answer to ListOffsets`);
  return BigInt(offset);
}

/** The log start offset and the high watermark (the offset the next record will get). */
export async function partitionOffsets(cluster: KafkajsCluster, topic: string, partition: number): Promise<{ low: bigint; high: bigint }> {
  const [low, high] = await Promise.all([listOffset(cluster, topic, partition, { fromBeginning: true }), listOffset(cluster, topic, partition, { fromBeginning: false })]);
  return { low, high };
}

function parseOffset(position: string): bigint {
  if (typeof position !== 'string' || !OFFSET.test(position) || BigInt(position) > MAX_OFFSET) {
    throw new SluiceError('POSITION_INVALID', `"${String(position)}" is not a Kafka offset (a decimal integer 0..2^63-1)`);
  }
  return BigInt(position);
}

export async function resolveStartOffset(cluster: KafkajsCluster, topic: string, partition: number, start: StartPosition): Promise<bigint> {
  switch (start.type) {
    case 'earliest':
      return listOffset(cluster, topic, partition, { fromBeginning: true });
    case 'latest':
      return listOffset(cluster, topic, partition, { fromBeginning: false });
    case 'at-timestamp': {
      if (!Number.isFinite(start.timestamp) || start.timestamp < 0) throw new SluiceError('POSITION_INVALID', `at-timestamp needs a non-negative epoch-ms timestamp, got ${String(start.timestamp)}`);
      const offset = await listOffset(cluster, topic, partition, { fromTimestamp: Math.floor(start.timestamp) });
      // -1: no record at or after the timestamp yet; start where the next one will land.
      return offset >= 0n ? offset : listOffset(cluster, topic, partition, { fromBeginning: false });
    }
    case 'at':
    case 'after': {
      const position = parseOffset(start.position);
      const next = start.type === 'at' ? position : position + 1n;
      const { low, high } = await partitionOffsets(cluster, topic, partition);
      if (next < low) throw new SluiceError('POSITION_EXPIRED', `kafka topic "${topic}" partition ${partition}: offset ${next} was removed from the log (it now starts at ${low})`);
      if (next > high) throw new SluiceError('POSITION_INVALID', `kafka topic "${topic}" partition ${partition}: offset ${position} is beyond the end of the log (next offset ${high})`);
      return next;
    }
    default:
      throw new SluiceError('POSITION_INVALID', `unknown start position ${JSON.stringify(start)}`);
  }
}

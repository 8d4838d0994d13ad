/**
 * Commits a consumer-group member's offsets to the group, only while the member owns the
 * partition, through kafkajs' consumer.commitOffsets (it adds the group's generation and
 * member id, which kafkajs keeps to itself).
 *
 * - The group moving on (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, ...) is not a failure of
 *   its own: the commit waits for kafkajs' next join and goes again if the partition was kept,
 *   or ends with LEASE_LOST if it went to another member.
 * - kafkajs resolves commitOffsets without sending anything once its consumer stopped running.
 *   Its COMMIT_OFFSETS event fires only for a commit the broker took, so a commit counts as
 *   done only when that event named its offset; otherwise the member left: LEASE_LOST.
 */
import type { Consumer } from 'kafkajs';
import type { SluiceError } from '../../core/errors';
import { backoffDelay, sleep } from '../../core/retry';
import { isKafkaErrorType } from './kafkaErrors';

/** Errors that say the group moved on (or is moving): wait for the next join, then decide. */
const GROUP_CHANGED = ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'];
const RETRY = { initialDelayMs: 200, maxDelayMs: 5000, factor: 2 };

/** What the committer needs to know of one assignment. */
export interface CommitTarget {
  readonly partition: number;
  /** false once the group took the partition away (or the member left) */
  readonly owned: boolean;
  committedUpTo: bigint | undefined;
}

export interface GroupCommitterOptions {
  consumer: Consumer;
  stream: string;
  /** how long a commit may wait for the group to settle after a rebalance */
  settleTimeoutMs: number;
  /** attempts after a passing failure (connection, timeout) */
  retries: number;
  leaseLost(partition: number, cause?: unknown): SluiceError;
  toSluiceError(error: unknown, partition: number): SluiceError;
}

export class GroupCommitter {
  /** the offset of the last commit the broker took, per partition (from COMMIT_OFFSETS) */
  private readonly landed = new Map<number, string>();
  private readonly waiters = new Set<() => void>();
  private joins = 0;

  constructor(private readonly options: GroupCommitterOptions) {
    const { consumer } = options;
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const topic of payload.topics) {
        if (topic.topic !== options.stream) continue;
        for (const entry of topic.partitions) this.landed.set(Number(entry.partition), String(entry.offset));
      }
    });
  }

  /** How many joins kafkajs completed. */
  get joinCount(): number {
    return this.joins;
  }

  /** kafkajs completed a join: commits waiting for the group to settle go again (or give up). */
  joined(): void {
    this.joins += 1;
    this.wake();
  }

  /** An assignment lost its partition: its waiting commits end now. */
  ownershipChanged(): void {
    this.wake();
  }

  /** Commits `offset` (the next record to read) while `target` is owned. Callers serialize per partition. */
  async commit(target: CommitTarget, offset: bigint): Promise<void> {
    const { consumer, stream } = this.options;
    if (target.committedUpTo !== undefined && offset <= target.committedUpTo) return;
    const deadline = Date.now() + this.options.settleTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (!target.owned) throw this.options.leaseLost(target.partition);
      const joinsBefore = this.joins;
      this.landed.delete(target.partition);
      try {
        await consumer.commitOffsets([{ topic: stream, partition: target.partition, offset: offset.toString() }]);
      } catch (error) {
        if (!target.owned) throw this.options.leaseLost(target.partition, error);
        if (isKafkaErrorType(error, ...GROUP_CHANGED) && Date.now() < deadline) {
          await this.waitForJoin(joinsBefore, target, deadline);
          continue;
        }
        const mapped = this.options.toSluiceError(error, target.partition);
        if (!mapped.retriable || attempt >= this.options.retries) throw mapped;
        await sleep(backoffDelay(attempt, RETRY));
        continue;
      }
      if (this.landed.get(target.partition) !== offset.toString()) throw this.options.leaseLost(target.partition);
      target.committedUpTo = offset;
      return;
    }
  }

  /** Resolves at the first join after `joinsBefore`, when the target is no longer owned, or at the deadline. */
  private waitForJoin(joinsBefore: number, target: CommitTarget, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.joins > joinsBefore || !target.owned) done();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}

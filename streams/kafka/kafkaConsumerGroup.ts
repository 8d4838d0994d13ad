/**
 * A member of a Kafka consumer group (kafkajs 2.2.4 Consumer: group protocol, heartbeats,
 * rebalances), turned into the pull-based ConsumerGroupMember of the stream interface: one
 * PartitionReader per assigned partition, commits only of what the runtime finished.
 *
 * - Assignment. kafkajs speaks the eager protocol and has no revoke callback: it rejoins and
 *   emits GROUP_JOIN with the new assignment. Comparing it with the previous one gives what was
 *   revoked, kept and newly assigned. A kept partition keeps its reader (no gap, no repeat);
 *   a new one starts at the group's committed offset (kafkaGroupOffsets.ts). A changed member
 *   id (the group dropped this member, e.g. after a missed session) and a stopping or crashed
 *   consumer revoke everything.
 * - Push to pull. eachBatch only queues a batch in the partition's reader and returns, so
 *   kafkajs keeps fetching and heartbeating however slow the handler; a full queue pauses its
 *   partition (see kafkaGroupPartitionReader.ts). A new partition stays paused until its start
 *   offset is sought; a kept one is sought back to where its queue ends, because kafkajs
 *   restarts every partition at the committed offset after each join.
 * - Revocation. The broker moved the partition before kafkajs tells us: the new owner reads
 *   from the last committed offset. So commit() stops at once (LEASE_LOST), the `revoked`
 *   signal aborts, and onRevoked is awaited before the same partition can be handed to this
 *   member again. A commit sent before the rebalance lands if the broker takes it before the
 *   group's new generation starts; one that comes later is rejected, and what it covered is
 *   read again by the next owner: at-least-once, as in Lambda.
 * - stop() drains first: the partitions are still ours until we leave the group, so the
 *   signals abort, onRevoked runs, its last commits land, and only then does the member leave.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { SluiceError, errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { backoffDelay, sleep } from '../../core/retry';
import type { ConsumerGroupMember, ConsumerGroupOptions, PartitionId, Position } from '../streamClient';
import { isKafkaErrorType, toSluiceError } from './kafkaErrors';
import { GroupCommitter } from './kafkaGroupCommits';
import { KafkaGroupPartitionReader } from './kafkaGroupPartitionReader';
import { groupStartOffsets, parseKafkaOffset, resolveGroupMemberSettings } from './kafkaGroupOffsets';
import type { GroupMemberSettings } from './kafkaGroupOffsets';
import type { FetchedMessage } from './kafkajsInternals';

const CONFIG_ERRORS = ['INVALID_SESSION_TIMEOUT', 'INVALID_GROUP_ID', 'GROUP_AUTHORIZATION_FAILED'];
const START_RETRY = { initialDelayMs: 200, maxDelayMs: 5000, factor: 2 };

export interface KafkaConsumerGroupDeps {
  kafka: Kafka;
  /** the adapter's shared admin client (committed offsets, log offsets) */
  admin: () => Promise<Admin>;
  logger: Logger;
  /** most bytes one Fetch brings for one partition (kafkajs maxBytesPerPartition) */
  maxBytesPerPartition: number;
  /** a partition's queue is paused at this many bytes (default two Fetches' worth) */
  maxQueuedBytesPerPartition?: number;
  /** attempts for a commit that failed for a passing reason (connection, timeout) */
  retries: number;
  onStopped?: () => void;
}

interface PartitionAssignmentState {
  readonly partition: number;
  readonly revoked: AbortController;
  reader: KafkaGroupPartitionReader | undefined;
  /** the group gives this partition to this member: commits may go out */
  owned: boolean;
  /** handed to onAssigned */
  announced: boolean;
  /** signal aborted, onRevoked awaited, reader closed: runs once */
  ending: Promise<void> | undefined;
  /** the previous assignment of this partition to this member, until its onRevoked finished */
  previous: Promise<void> | undefined;
  commits: Promise<unknown>;
  committedUpTo: bigint | undefined;
}

export class KafkaConsumerGroupMember implements ConsumerGroupMember {
  private readonly settings: GroupMemberSettings;
  private readonly logger: Logger;
  private readonly consumer: Consumer;
  private readonly committer: GroupCommitter;
  private readonly maxQueuedBytes: number;
  private readonly assignments = new Map<number, PartitionAssignmentState>();
  /** assignments revoked whose onRevoked still runs, by partition */
  private readonly endings = new Map<number, Promise<void>>();
  private readonly starts = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private currentMemberId: string | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly deps: KafkaConsumerGroupDeps,
    private readonly stream: string,
    private readonly options: ConsumerGroupOptions,
  ) {
    this.settings = resolveGroupMemberSettings(options);
    this.logger = deps.logger.child({ component: 'kafka-group', stream, groupId: this.settings.groupId });
    this.maxQueuedBytes = deps.maxQueuedBytesPerPartition ?? 2 * deps.maxBytesPerPartition;
    this.consumer = deps.kafka.consumer({
      groupId: this.settings.groupId,
      sessionTimeout: this.settings.sessionTimeoutMs,
      rebalanceTimeout: this.settings.rebalanceTimeoutMs,
      heartbeatInterval: this.settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.settings.maxWaitTimeMs,
      maxBytesPerPartition: deps.maxBytesPerPartition,
      // a metadata request must not create the topic (brokers auto-create by default)
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
    this.committer = new GroupCommitter({
      consumer: this.consumer,
      stream,
      // long enough for kafkajs to notice a rebalance, rejoin and sync, with room to spare
      settleTimeoutMs: 2 * (this.settings.sessionTimeoutMs + this.settings.rebalanceTimeoutMs),
      retries: deps.retries,
      leaseLost: (partition, cause) => this.leaseLost(partition, cause),
      toSluiceError: (error, partition) => groupError(error, 'commit', stream, String(partition)),
    });
  }

  get memberId(): string | undefined {
    return this.currentMemberId;
  }

  assignedPartitions(): PartitionId[] {
    return [...this.assignments.values()]
      .filter((state) => state.owned && state.announced)
      .map((state) => state.partition)
      .sort((a, b) => a - b)
      .map(String);
  }

  /** Joins the group; resolves once the first assignment was handed to onAssigned. */
  async start(): Promise<void> {
    const { consumer } = this;
    let crash: unknown;
    // A broker that just started (or restarted) answers the first joins with retriable errors such as
    // GROUP_LOAD_IN_PROGRESS while it loads __consumer_offsets; kafkajs restarts the consumer after
    // those, so the start waits for that join instead of failing the worker.
    let joined!: () => void;
    let failed!: (error: unknown) => void;
    const firstJoin = new Promise<void>((resolve, reject) => {
      joined = resolve;
      failed = reject;
    });
    firstJoin.catch(() => undefined);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.guard('group join', () => this.onGroupJoin(payload.memberId, payload.memberAssignment));
      joined();
    });
    consumer.on(consumer.events.STOP, () => this.guard('stop', () => this.loseAll('the consumer stopped')));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crash = payload.error;
      if (!payload.restart) failed(payload.error);
      this.guard('crash', () => this.loseAll('the consumer crashed'));
      const log = { err: payload.error, restart: payload.restart };
      if (payload.restart) this.logger.warn(log, 'kafka consumer crashed; kafkajs restarts it and the member rejoins');
      else this.logger.error(log, 'kafka consumer crashed for good: this member has no partitions until it is started again');
    });
    consumer.on(consumer.events.REBALANCING, () => this.logger.debug('group rebalancing: rejoining'));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.stream, fromBeginning: this.settings.start.type !== 'latest' });
      // run() returns once the first join is done, or once it failed (then CRASH has fired).
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
      if (this.committer.joinCount === 0) {
        if (crash === undefined) throw new SluiceError('CONNECTION_FAILED', 'kafka consumer did not join its group');
        await withTimeout(firstJoin, this.settings.rebalanceTimeoutMs, () => crash);
      }
      await Promise.all([...this.starts]);
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw groupError(error, 'joinConsumerGroup', this.stream);
    }
  }

  stop(): Promise<void> {
    this.stopped ??= this.leave();
    return this.stopped;
  }

  private async leave(): Promise<void> {
    this.stopping.abort();
    const draining = [...this.assignments.values()];
    for (const state of draining) this.pause(state.partition);
    // Still ours until we leave the group: the runtime finishes in-flight work and commits it.
    await Promise.all(draining.map((state) => this.finish(state, 'the member is stopping')));
    this.loseAll('the member stopped');
    await Promise.allSettled([...this.starts]);
    try {
      await this.consumer.disconnect();
    } catch (error) {
      // The group drops this member after the session timeout anyway.
      this.logger.warn({ err: error }, 'kafka consumer did not leave its group cleanly');
    }
    this.deps.onStopped?.();
  }

  /** GROUP_JOIN: runs inside kafkajs' join, before its next Fetch, so pause and seek apply to that Fetch. */
  private onGroupJoin(memberId: string, memberAssignment: Record<string, number[]>): void {
    const assigned = new Set(memberAssignment[this.stream] ?? []);
    const sameMember = memberId === this.currentMemberId;
    this.currentMemberId = memberId;
    for (const state of [...this.assignments.values()]) {
      if (sameMember && assigned.has(state.partition)) this.keep(state);
      else this.lose(state, sameMember ? 'the group gave the partition to another member' : 'the group dropped this member');
    }
    const fresh: PartitionAssignmentState[] = [];
    for (const partition of [...assigned].sort((a, b) => a - b)) {
      if (this.assignments.has(partition)) continue;
      if (this.stopping.signal.aborted) {
        // leaving anyway: nothing to start, only keep kafkajs from fetching it
        this.pause(partition);
        continue;
      }
      const state: PartitionAssignmentState = {
        partition,
        revoked: new AbortController(),
        reader: undefined,
        owned: true,
        announced: false,
        ending: undefined,
        previous: this.endings.get(partition),
        commits: Promise.resolve(),
        committedUpTo: undefined,
      };
      this.assignments.set(partition, state);
      // no Fetch until the start offset is sought
      this.pause(partition);
      fresh.push(state);
    }
    this.logger.info({ memberId, partitions: [...assigned].sort((a, b) => a - b), fresh: fresh.map((state) => state.partition) }, 'joined the consumer group');
    if (fresh.length > 0) {
      const started = this.startAssignments(fresh);
      this.starts.add(started);
      void started.finally(() => this.starts.delete(started));
    }
    this.committer.joined();
  }

  private keep(state: PartitionAssignmentState): void {
    const reader = state.reader;
    if (!reader || state.ending) {
      this.pause(state.partition);
      return;
    }
    this.seek(state.partition, reader.nextOffset);
    if (reader.isPaused) this.pause(state.partition);
  }

  private lose(state: PartitionAssignmentState, reason: string): void {
    state.owned = false;
    if (this.assignments.get(state.partition) === state) this.assignments.delete(state.partition);
    const ending = this.finish(state, reason);
    this.endings.set(state.partition, ending);
    void ending.finally(() => {
      if (this.endings.get(state.partition) === ending) this.endings.delete(state.partition);
    });
    this.committer.ownershipChanged();
  }

  private loseAll(reason: string): void {
    for (const state of [...this.assignments.values()]) this.lose(state, reason);
    // Whatever joins next is a new membership, even if kafkajs reuses the member id.
    this.currentMemberId = undefined;
  }

  /** Aborts the signal, awaits onRevoked (announced assignments only), closes the reader. Once. */
  private finish(state: PartitionAssignmentState, reason: string): Promise<void> {
    if (state.ending) return state.ending;
    const partition = String(state.partition);
    state.revoked.abort(new SluiceError('LEASE_LOST', `kafka topic "${this.stream}" partition ${partition}: ${reason}`));
    state.reader?.end();
    if (state.announced) this.logger.info({ partition, reason }, 'partition revoked');
    state.ending = (async () => {
      if (state.announced && this.options.onRevoked) {
        try {
          await this.options.onRevoked(partition);
        } catch (error) {
          this.logger.error({ err: error, partition }, 'onRevoked failed');
        }
      }
      await state.reader?.close();
    })();
    return state.ending;
  }

  private async startAssignments(states: PartitionAssignmentState[]): Promise<void> {
    // One runtime worker per partition in this process: a re-assigned partition waits for the old one.
    await Promise.all(states.map((state) => state.previous));
    for (let attempt = 0; ; attempt++) {
      const pending = states.filter((state) => state.owned && !state.ending && !state.reader);
      if (pending.length === 0 || this.stopping.signal.aborted) return;
      try {
        const admin = await this.deps.admin();
        const starts = await groupStartOffsets(admin, this.settings.groupId, this.stream, pending.map((state) => state.partition), this.settings.start);
        for (const state of pending) {
          const start = starts.get(state.partition);
          if (start) await this.activate(state, start.offset, start.committed);
        }
        return;
      } catch (error) {
        const delayMs = backoffDelay(attempt, START_RETRY);
        this.logger.warn({ err: error, partitions: pending.map((state) => state.partition), delayMs }, 'could not find where assigned partitions start; retrying');
        await sleep(delayMs, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  private async activate(state: PartitionAssignmentState, startOffset: bigint, committed: boolean): Promise<void> {
    if (!state.owned || state.ending || this.stopping.signal.aborted) return;
    const { partition } = state;
    const reader = new KafkaGroupPartitionReader(this.stream, partition, startOffset, this.maxQueuedBytes, {
      pause: () => this.pause(partition),
      resume: () => this.resume(partition),
    });
    state.reader = reader;
    this.seek(partition, startOffset);
    this.resume(partition);
    // Record where a new partition started, so a rebalance or restart before the first
    // checkpoint resumes there (not at a later "latest"), like a Lambda mapping's start.
    if (!committed) {
      try {
        await this.inOrder(state, () => this.committer.commit(state, startOffset));
      } catch (error) {
        if (!state.owned) return;
        this.logger.warn({ err: error, partition }, 'could not commit the start offset of a new partition');
      }
    }
    if (!state.owned || state.ending || this.stopping.signal.aborted) return;
    state.announced = true;
    this.logger.info({ partition, startOffset: startOffset.toString(), committed }, 'partition assigned');
    try {
      this.options.onAssigned({ partition: String(partition), reader, commit: (position) => this.commit(state, position), revoked: state.revoked.signal });
    } catch (error) {
      this.logger.error({ err: error, partition }, 'onAssigned failed');
    }
  }

  private async onBatch({ batch, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.topic !== this.stream) return;
    const state = this.assignments.get(batch.partition);
    const reader = state?.reader;
    if (!state || !reader || !state.owned || state.ending) {
      // Not ours to deliver now: left unresolved, so kafkajs fetches it again if it ever is.
      this.pause(batch.partition);
      return;
    }
    // kafkajs' eachBatch messages are the decoded Fetch records the adapter's reader gets too.
    reader.offer(batch.messages as unknown as FetchedMessage[], batch.lastOffset());
    const last = batch.messages[batch.messages.length - 1];
    // kafkajs resolves the batch's true last offset (past a trailing transaction marker) for it.
    if (last) resolveOffset(last.offset);
  }

  /** The assignment's commit(): records up to `position` are done. Commits of one partition go out in call order. */
  private commit(state: PartitionAssignmentState, position: Position): Promise<void> {
    return this.inOrder(state, () => {
      const offset = parseKafkaOffset(position) + 1n;
      const reader = state.reader;
      if (!state.owned || !reader) throw this.leaseLost(state.partition);
      // A checkpoint past what was handed out would skip records nobody processed.
      if (offset <= reader.startOffset || offset > reader.deliveredUpTo) {
        const delivered = reader.deliveredUpTo > reader.startOffset ? `${reader.startOffset}..${reader.deliveredUpTo - 1n}` : 'nothing yet';
        throw new SluiceError('POSITION_INVALID', `kafka commit "${this.stream}" partition ${state.partition}: position ${position} was not delivered by this assignment (it delivered ${delivered})`);
      }
      return this.committer.commit(state, offset);
    });
  }

  private inOrder(state: PartitionAssignmentState, operation: () => Promise<void>): Promise<void> {
    const result = state.commits.then(operation);
    state.commits = result.catch(() => undefined);
    return result;
  }

  private leaseLost(partition: number, cause?: unknown): SluiceError {
    return new SluiceError('LEASE_LOST', `kafka topic "${this.stream}" partition ${partition} is no longer assigned to consumer group "${this.settings.groupId}" member ${this.currentMemberId ?? '(none)'}`, { cause });
  }

  // kafkajs throws from pause/resume/seek while its consumer restarts after a crash; the crash revokes everything anyway.
  private pause(partition: number): void {
    this.guard('pause', () => this.consumer.pause([{ topic: this.stream, partitions: [partition] }]));
  }

  private resume(partition: number): void {
    this.guard('resume', () => this.consumer.resume([{ topic: this.stream, partitions: [partition] }]));
  }

  private seek(partition: number, offset: bigint): void {
    this.guard('seek', () => this.consumer.seek({ topic: this.stream, partition, offset: offset.toString() }));
  }

  /** kafkajs calls our listeners inside its own join: nothing may throw back into it. */
  private guard(what: string, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.logger.debug({ err: error, what }, `kafka consumer group: ${what} failed: ${errorMessage(error)}`);
    }
  }
}

function groupError(error: unknown, operation: string, stream: string, partition?: string): SluiceError {
  if (isKafkaErrorType(error, ...CONFIG_ERRORS)) {
    return new SluiceError('CONFIG_INVALID', `kafka ${operation} "${stream}": ${errorMessage(error)}`, { cause: error });
  }
  return toSluiceError(error, { operation, stream, partition });
}

/** Joins `options.groupId` on `stream`; resolves once the first assignment was handed out. */
export async function joinKafkaConsumerGroup(deps: KafkaConsumerGroupDeps, stream: string, options: ConsumerGroupOptions): Promise<KafkaConsumerGroupMember> {
  const member = new KafkaConsumerGroupMember(deps, stream, options);
  await member.start();
  return member;
}

/** `promise`, or the error `onTimeout` gives once `ms` passed. */
async function withTimeout(promise: Promise<void>, ms: number, onTimeout: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one worker's side of KCL-style lease coordination for a lease group: a heartbeat in
 * the worker registry, shard sync, a take/steal round every takeIntervalMs
 * (planLeaseTakeover), renewal of held leases every renewIntervalMs (default a third of the
 * lease duration, so two renewals may fail before the lease expires), and checkpoints fenced
 * by the lease counter. It tells the engine what to run through events:
 *   acquired(shardId, checkpoint, lease, handle): start processing from the checkpoint, and
 *     checkpoint through `handle` (bound to this acquisition);
 *   lost(shardId, reason): stop at once, without another checkpoint (it would be refused);
 *   round(summary): a take round finished (for metrics and tests).
 *
 * Operations on one shard (take, renew, checkpoint, release) run one after another, so a
 * renewal never races this worker's own checkpoint with a stale counter.
 *
 * A lease is also considered lost locally once leaseDuration has passed since the start of
 * its last successful renewal (measured on this process's monotonic clock), even if Redis
 * could not be reached to learn it: Redis counts the expiry from a later instant, so the
 * worker stops before anyone else may take the shard. After a steal, the previous owner
 * learns of it at its next renewal: that is the overlap window (at most renewIntervalMs, plus
 * one in-flight batch), during which its checkpoints are already refused.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../core/logger';
import { silentLogger } from '../../core/logger';
import { errorMessage, isSluiceError, SluiceError } from '../../core/errors';
import { backoffDelay } from '../../core/retry';
import type { LeaseStore } from './leaseStore';
import { planLeaseTakeover } from './leaseTakeover';
import type { InitialPosition, LeaseFence, ShardDescription, ShardLease } from './shardLease';

export type LeaseLostReason = 'lease-lost' | 'taken' | 'expired' | 'deleted';

/** between attempts of a checkpoint that could not reach Redis: soon after it is back, not hammering it */
const CHECKPOINT_RETRY = { initialDelayMs: 50, maxDelayMs: 1000, factor: 2 };

/**
 * One acquisition of a shard lease, for the code that processes the shard. Its calls are
 * refused (LEASE_LOST) once this acquisition ended, even if this worker has since acquired
 * the shard again: a partition worker started for an earlier acquisition can never
 * checkpoint under a later one.
 */
export interface ShardLeaseHandle {
  readonly shardId: string;
  /** the lease as acquired: its checkpoint is where processing starts (startPositionOf) */
  readonly lease: ShardLease;
  isHeld(): boolean;
  checkpoint(sequenceNumber: string): Promise<void>;
  markShardEnd(): Promise<void>;
  withLease<T>(operation: (fence: LeaseFence) => Promise<T>): Promise<T>;
}

export interface LeaseCoordinatorEvents {
  acquired: [shardId: string, checkpoint: string, lease: ShardLease, handle: ShardLeaseHandle];
  lost: [shardId: string, reason: LeaseLostReason];
  /** after every take round: what was planned and taken, and how many leases are held */
  round: [summary: { planned: number; taken: number; held: number }];
}

export interface LeaseCoordinatorOptions {
  store: LeaseStore;
  workerId: string;
  /** default leaseDurationMs / 3 */
  renewIntervalMs?: number;
  /** how often to look for leases to take or steal; default leaseDurationMs / 2 */
  takeIntervalMs?: number;
  /** how long a heartbeat keeps the worker in the registry; default leaseDurationMs */
  heartbeatTtlMs?: number;
  /** the stream's shards, open and closed; without it, leases must be synced by someone else */
  discoverShards?: () => Promise<ShardDescription[]>;
  /** where new leases start (the mapping's StartingPosition); default TRIM_HORIZON */
  initialPosition?: InitialPosition;
  /** how often to sync leases with the stream's shards (KCL: 60 s) */
  shardSyncIntervalMs?: number;
  maxStealsPerRound?: number;
  logger?: Logger;
}

interface HeldLease {
  lease: ShardLease;
  /** the counter the take returned: identifies this acquisition */
  acquisition: number;
  /** local monotonic ms after which we consider the lease lost */
  localDeadline: number;
}

export class LeaseCoordinator extends EventEmitter<LeaseCoordinatorEvents> {
  readonly workerId: string;
  private readonly store: LeaseStore;
  private readonly renewIntervalMs: number;
  private readonly takeIntervalMs: number;
  private readonly heartbeatTtlMs: number;
  private readonly shardSyncIntervalMs: number;
  private readonly options: LeaseCoordinatorOptions;
  private readonly logger: Logger;
  private readonly held = new Map<string, HeldLease>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private running = false;
  private loops: Promise<void>[] = [];
  private wakeTakeLoop: (() => void) | undefined;
  private stopSleeping = new AbortController();
  private lastShardSync = -Infinity;

  constructor(options: LeaseCoordinatorOptions) {
    super();
    if (options.workerId.length === 0) throw new SluiceError('CONFIG_INVALID', 'workerId: must be non-empty');
    this.options = options;
    this.store = options.store;
    this.workerId = options.workerId;
    const duration = options.store.leaseDurationMs;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.floor(duration / 3);
    this.takeIntervalMs = options.takeIntervalMs ?? Math.floor(duration / 2);
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? duration;
    this.shardSyncIntervalMs = options.shardSyncIntervalMs ?? 60_000;
    if (!(this.renewIntervalMs > 0 && this.renewIntervalMs < duration)) {
      throw new SluiceError('CONFIG_INVALID', `renewIntervalMs: must be above 0 and below the lease duration ${duration}, got ${this.renewIntervalMs}`);
    }
    if (!(this.takeIntervalMs > 0)) throw new SluiceError('CONFIG_INVALID', `takeIntervalMs: must be above 0, got ${this.takeIntervalMs}`);
    if (!(this.heartbeatTtlMs > 0)) throw new SluiceError('CONFIG_INVALID', `heartbeatTtlMs: must be above 0, got ${this.heartbeatTtlMs}`);
    this.logger = (options.logger ?? silentLogger).child({ component: 'leases', leaseGroup: this.store.leaseGroup, worker: this.workerId });
  }

  /** Starts the loops; the first take round runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopSleeping = new AbortController();
    this.loops = [this.takeLoop(), this.renewLoop()];
  }

  /**
   * Stops the loops. By default releases every held lease (after the engine drained and
   * checkpointed) and leaves the registry, so others take the shards at once; with
   * `release: false` it just stops, like a crashed worker: others wait for the expiry.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopSleeping.abort();
    this.wakeTakeLoop?.();
    await Promise.all(this.loops);
    if (options.release ?? true) {
      await Promise.all([...this.held.keys()].map((shardId) => this.serialize(shardId, () => this.release(shardId))));
      await this.store.removeWorker(this.workerId).catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'could not leave the worker registry'));
    }
    this.held.clear();
  }

  /** Shards this worker holds now (by its own, conservative view). */
  heldShards(): string[] {
    const now = performance.now();
    return [...this.held].filter(([, held]) => held.localDeadline > now).map(([shardId]) => shardId).sort();
  }

  /** The lease as this worker last saw it, if it holds it. */
  leaseOf(shardId: string): ShardLease | undefined {
    return this.held.get(shardId)?.lease;
  }

  /** Checkpoints a processed sequence number; LEASE_LOST (and a `lost` event) if the lease moved on. */
  checkpoint(shardId: string, sequenceNumber: string): Promise<void> {
    return this.checkpointFor(shardId, undefined, sequenceNumber);
  }

  /**
   * The shard was read to its end and everything is processed: checkpoint SHARD_END, give the
   * lease up (there is nothing more to read) and look for its children at once.
   */
  markShardEnd(shardId: string): Promise<void> {
    return this.markShardEndFor(shardId, undefined);
  }

  /**
   * Runs a write that must come from the lease holder (e.g. a fenced tumbling-window put)
   * with the current counter, in turn with renewals; LEASE_LOST from it drops the lease.
   */
  withLease<T>(shardId: string, operation: (fence: LeaseFence) => Promise<T>): Promise<T> {
    return this.withLeaseFor(shardId, undefined, operation);
  }

  private async checkpointFor(shardId: string, acquisition: number | undefined, sequenceNumber: string): Promise<void> {
    await this.whileHeld(shardId, 'checkpoint', () =>
      this.serialize(shardId, async () => {
        const held = this.requireHeld(shardId, acquisition);
        await this.fenced(shardId, () => this.store.checkpoint(shardId, this.workerId, held.lease.counter, sequenceNumber));
        held.lease = { ...held.lease, checkpoint: sequenceNumber, atTimestamp: null, ownerSwitchesSinceCheckpoint: 0 };
      }),
    );
  }

  private async markShardEndFor(shardId: string, acquisition: number | undefined): Promise<void> {
    await this.whileHeld(shardId, 'SHARD_END checkpoint', () =>
      this.serialize(shardId, async () => {
        const held = this.requireHeld(shardId, acquisition);
        await this.fenced(shardId, () => this.store.markShardEnd(shardId, this.workerId, held.lease.counter));
        await this.release(shardId);
      }),
    );
    this.lastShardSync = -Infinity; // children may need leases now
    this.wakeTakeLoop?.();
  }

  private withLeaseFor<T>(shardId: string, acquisition: number | undefined, operation: (fence: LeaseFence) => Promise<T>): Promise<T> {
    return this.serialize(shardId, () => {
      const held = this.requireHeld(shardId, acquisition);
      return this.fenced(shardId, () => operation({ worker: this.workerId, counter: held.lease.counter }));
    });
  }

  private handleFor(shardId: string, lease: ShardLease, acquisition: number): ShardLeaseHandle {
    return {
      shardId,
      lease,
      isHeld: () => {
        const held = this.held.get(shardId);
        return held !== undefined && held.acquisition === acquisition && held.localDeadline > performance.now();
      },
      checkpoint: (sequenceNumber) => this.checkpointFor(shardId, acquisition, sequenceNumber),
      markShardEnd: () => this.markShardEndFor(shardId, acquisition),
      withLease: (operation) => this.withLeaseFor(shardId, acquisition, operation),
    };
  }

  /** Runs a take round now (e.g. after a reshard). */
  wake(): void {
    this.wakeTakeLoop?.();
  }

  private requireHeld(shardId: string, acquisition: number | undefined): HeldLease {
    const held = this.held.get(shardId);
    if (held && held.localDeadline <= performance.now()) this.drop(shardId, 'expired');
    else if (held && (acquisition === undefined || held.acquisition === acquisition)) return held;
    const which = acquisition === undefined ? '' : ` (acquisition ${acquisition})`;
    throw new SluiceError('LEASE_LOST', `${this.store.leaseGroup}/${shardId}: not held by ${this.workerId}${which}`);
  }

  /**
   * Retries a checkpoint that could not reach Redis (down, restarting) until it lands or the
   * lease is lost: the engine takes a failed checkpoint as lost ownership and stops the shard,
   * while this worker would go on holding - and renewing - the lease, so nobody would read the
   * shard again. KCL's checkpointer is retried the same way on a store that is unavailable.
   */
  private async whileHeld(shardId: string, what: string, attempt: () => Promise<void>): Promise<void> {
    for (let failures = 0; ; failures += 1) {
      try {
        return await attempt();
      } catch (error) {
        // requireHeld throws LEASE_LOST once the lease expired locally, which ends this too
        if (!isSluiceError(error) || !error.retriable || !this.running) throw error;
        const delayMs = Math.max(CHECKPOINT_RETRY.initialDelayMs, backoffDelay(Math.min(failures, 8), CHECKPOINT_RETRY));
        this.logger.warn({ shardId, err: errorMessage(error), delayMs }, `${what} failed; retrying while the lease is held`);
        await this.pause(delayMs, false);
      }
    }
  }

  /** Runs a fenced store call; a refusal means the lease is gone: drop it and tell the engine. */
  private async fenced<T>(shardId: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isSluiceError(error, 'LEASE_LOST')) this.drop(shardId, 'lease-lost');
      throw error;
    }
  }

  private async release(shardId: string): Promise<void> {
    const held = this.held.get(shardId);
    if (!held) return;
    this.held.delete(shardId);
    try {
      await this.store.releaseLease(shardId, this.workerId, held.lease.counter);
    } catch (error) {
      this.logger.warn({ shardId, err: errorMessage(error) }, 'could not release a lease; it will expire');
    }
  }

  private drop(shardId: string, reason: LeaseLostReason): void {
    if (!this.held.delete(shardId)) return;
    this.logger.info({ shardId, reason }, 'lease lost');
    this.emitSafely('lost', shardId, reason);
  }

  private emitSafely<K extends keyof LeaseCoordinatorEvents>(event: K, ...args: LeaseCoordinatorEvents[K]): void {
    try {
      // EventEmitter's generic signature cannot relate K to its argument tuple here.
      (this.emit as (event: K, ...args: LeaseCoordinatorEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.logger.error({ event, err: errorMessage(error) }, 'a lease event listener threw');
    }
  }

  private serialize<T>(shardId: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(shardId) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const settled = next.catch(() => undefined);
    this.chains.set(shardId, settled);
    void settled.then(() => {
      if (this.chains.get(shardId) === settled) this.chains.delete(shardId);
    });
    return next;
  }

  private async pause(ms: number, wakeable: boolean): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopSleeping.signal.removeEventListener('abort', done);
        if (wakeable) this.wakeTakeLoop = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopSleeping.signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.wakeTakeLoop = done;
    });
  }

  private async takeLoop(): Promise<void> {
    while (this.running) {
      try {
        await this.takeRound();
      } catch (error) {
        this.logger.warn({ err: errorMessage(error) }, 'lease take round failed');
      }
      await this.pause(this.takeIntervalMs, true);
    }
  }

  private async renewLoop(): Promise<void> {
    while (this.running) {
      await this.pause(this.renewIntervalMs, false);
      if (!this.running) break;
      await Promise.all([...this.held.keys()].map((shardId) => this.serialize(shardId, () => this.renew(shardId))));
    }
  }

  private async renew(shardId: string): Promise<void> {
    const held = this.held.get(shardId);
    if (!held || !this.running) return;
    const startedAt = performance.now();
    if (held.localDeadline <= startedAt) return this.drop(shardId, 'expired');
    try {
      held.lease = await this.store.renewLease(shardId, this.workerId, held.lease.counter);
      held.localDeadline = startedAt + this.store.leaseDurationMs;
    } catch (error) {
      if (isSluiceError(error, 'LEASE_LOST')) return this.drop(shardId, 'lease-lost');
      this.logger.warn({ shardId, err: errorMessage(error) }, 'lease renewal failed; retrying at the next interval');
      if (held.localDeadline <= performance.now()) this.drop(shardId, 'expired');
    }
  }

  private async takeRound(): Promise<void> {
    const { liveWorkers } = await this.store.heartbeat(this.workerId, this.heartbeatTtlMs);
    try {
      await this.syncShardsIfDue();
    } catch (error) {
      // the existing leases still need balancing and renewal; the sync is retried next round
      this.logger.warn({ err: errorMessage(error) }, 'shard sync failed');
    }
    const { now, leases } = await this.store.listLeases();
    if (!this.running) return;

    // Leases someone else took (a steal) or that vanished: stop before the next renewal says so.
    const byId = new Map(leases.map((lease) => [lease.shardId, lease]));
    for (const shardId of [...this.held.keys()]) {
      const lease = byId.get(shardId);
      if (!lease) this.drop(shardId, 'deleted');
      else if (lease.owner !== this.workerId) this.drop(shardId, 'taken');
    }

    const plan = planLeaseTakeover(leases, liveWorkers, this.workerId, now, { maxStealsPerRound: this.options.maxStealsPerRound });
    let taken = 0;
    await Promise.all(
      plan.map((take) =>
        this.serialize(take.shardId, async () => {
          if (!this.running) return;
          const startedAt = performance.now();
          const result = await this.store.takeLease(take.shardId, this.workerId, take.expectedCounter);
          if (!result.taken) return;
          taken += 1;
          const alreadyHeld = this.held.get(take.shardId);
          // our own expired lease, taken back: the same acquisition goes on, the engine never stopped
          const acquisition = alreadyHeld?.acquisition ?? result.lease.counter;
          this.held.set(take.shardId, { lease: result.lease, acquisition, localDeadline: startedAt + this.store.leaseDurationMs });
          if (alreadyHeld || !this.running) return; // stopping: stop() releases it, nobody starts on it
          this.logger.info({ shardId: take.shardId, reason: take.reason, from: take.from, checkpoint: result.lease.checkpoint }, 'lease acquired');
          this.emitSafely('acquired', take.shardId, result.lease.checkpoint, result.lease, this.handleFor(take.shardId, result.lease, acquisition));
        }),
      ),
    );
    this.emitSafely('round', { planned: plan.length, taken, held: this.held.size });
  }

  private async syncShardsIfDue(): Promise<void> {
    const discover = this.options.discoverShards;
    if (!discover || performance.now() - this.lastShardSync < this.shardSyncIntervalMs) return;
    const result = await this.store.syncShards(await discover(), this.options.initialPosition ?? { type: 'TRIM_HORIZON' });
    this.lastShardSync = performance.now();
    if (result.created.length > 0 || result.removed.length > 0) this.logger.info(result, 'shard leases synced');
    if (result.removedUnfinished.length > 0) this.logger.warn({ shards: result.removedUnfinished }, 'shards left the stream before they were read to their end');
  }
}

/**
 * Function instances, the way Lambda keeps them: an invocation takes a warm idle instance or
 * starts a new one (a cold start: the handler module is evaluated anew, plus an optional
 * simulated start-up delay), up to the concurrency limit; an instance idle for longer than
 * `idleTimeoutMs` is dropped, so an idle mapping scales to zero and wakes on the next batch.
 * Module-level state in a handler lives exactly as long as its instance, as on Lambda.
 */
export interface FunctionInstance<H> {
  readonly id: number;
  readonly handler: H;
  invocations: number;
  lastUsedAt: number;
}

export interface InstancePoolOptions<H> {
  /** evaluates the handler module afresh for a new instance */
  load(): Promise<H>;
  /** most instances at once (ReservedConcurrentExecutions, or partitions x ParallelizationFactor) */
  maxInstances: number;
  /** simulated extra cold-start time (realistic mode) */
  coldStartMs: number;
  idleTimeoutMs: number;
  onColdStart?(instance: FunctionInstance<H>, loadMs: number): void;
  onCountChange?(count: number): void;
  now?: () => number;
}

export class InstancePool<H> {
  private readonly idle: Array<FunctionInstance<H>> = [];
  private readonly waiting: Array<(instance: FunctionInstance<H>) => void> = [];
  private count = 0;
  private nextId = 1;
  private readonly reaper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: InstancePoolOptions<H>) {
    this.now = options.now ?? Date.now;
    this.reaper = setInterval(() => this.reapIdle(), Math.max(100, Math.min(options.idleTimeoutMs, 5000)));
    this.reaper.unref();
  }

  get size(): number {
    return this.count;
  }

  get busy(): number {
    return this.count - this.idle.length;
  }

  async acquire(): Promise<FunctionInstance<H>> {
    // Most recently used first: like Lambda, keep a few instances hot rather than all lukewarm.
    const warm = this.idle.pop();
    if (warm) return warm;
    if (this.count < this.options.maxInstances) return this.start();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(instance: FunctionInstance<H>): void {
    instance.lastUsedAt = this.now();
    const next = this.waiting.shift();
    if (next) next(instance);
    else this.idle.push(instance);
  }

  /** An instance whose invocation timed out is not reused: Lambda restarts the runtime after a timeout. */
  discard(_instance: FunctionInstance<H>): void {
    this.count -= 1;
    this.options.onCountChange?.(this.count);
    const next = this.waiting.shift();
    if (next) void this.start().then(next);
  }

  reapIdle(): void {
    const cutoff = this.now() - this.options.idleTimeoutMs;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if ((this.idle[i] as FunctionInstance<H>).lastUsedAt < cutoff) {
        this.idle.splice(i, 1);
        this.count -= 1;
      }
    }
    this.options.onCountChange?.(this.count);
  }

  close(): void {
    clearInterval(this.reaper);
    this.count -= this.idle.length;
    this.idle.length = 0;
  }

  private async start(): Promise<FunctionInstance<H>> {
    this.count += 1;
    this.options.onCountChange?.(this.count);
    const started = this.now();
    try {
      const handler = await this.options.load();
      if (this.options.coldStartMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.coldStartMs));
      const instance: FunctionInstance<H> = { id: this.nextId++, handler, invocations: 0, lastUsedAt: this.now() };
      this.options.onColdStart?.(instance, this.now() - started);
      return instance;
    } catch (error) {
      this.count -= 1;
      this.options.onCountChange?.(this.count);
      throw error;
    }
  }
}

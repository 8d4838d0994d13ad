/**
 * Tracks which records of a partition are done, when they finish out of order (several lanes
 * of a ParallelizationFactor > 1 shard, filtered records, bisected halves). The checkpoint may
 * move to a record only when it and every record before it are done: this is what keeps
 * "no checkpoint ever passes an unprocessed record" true with concurrent batches.
 */
import type { Position } from '../../streams/streamClient';

interface Entry {
  position: Position;
  done: boolean;
}

export class CompletionTracker {
  private readonly entries: Entry[] = [];
  private head = 0;
  private readonly byPosition = new Map<Position, Entry>();
  private lastCheckpointable: Position | undefined;

  /** Registers a record in partition order, before it is handed to any lane. */
  enter(position: Position): void {
    const entry = { position, done: false };
    this.entries.push(entry);
    this.byPosition.set(position, entry);
  }

  /** Marks one record done. Unknown positions are a bug in the caller: fail loudly. */
  complete(position: Position): void {
    const entry = this.byPosition.get(position);
    if (!entry) throw new Error(`completion tracker: position ${position} was never entered`);
    entry.done = true;
    this.advance();
  }

  /** The furthest position with everything up to it done, or undefined if none yet. */
  checkpointable(): Position | undefined {
    return this.lastCheckpointable;
  }

  /** Records entered and not yet done. */
  get pending(): number {
    return this.entries.length - this.head;
  }

  private advance(): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as Entry;
      if (!entry.done) break;
      this.lastCheckpointable = entry.position;
      this.byPosition.delete(entry.position);
      this.head += 1;
    }
    // Compact now and then so a long-running partition does not keep every entry forever.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}

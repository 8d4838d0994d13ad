import type { FaultKind } from './faultKinds';

/** Inclusive ranges of sequence numbers, ascending and non-overlapping: [[0, 41], [43, 99]]. */
export type SeqRanges = Array<[number, number]>;

/**
 * A set of non-negative integers as a bitmap over the span it has seen: sequence numbers of one
 * device are dense, but need not start near 0 (a run may continue a device's counter).
 */
class SeqBitmap {
  private bits = new Uint8Array(64);
  /** the number bit 0 stands for; a multiple of 8 */
  private base = -1;
  size = 0;

  add(seq: number): boolean {
    if (this.base < 0) this.base = Math.max(0, seq - (seq % 8) - 256);
    if (seq < this.base) this.growDown(seq);
    const offset = seq - this.base;
    const byte = Math.floor(offset / 8);
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (offset & 7);
    const current = this.bits[byte] ?? 0;
    if ((current & mask) !== 0) return false;
    this.bits[byte] = current | mask;
    this.size += 1;
    return true;
  }

  private growDown(seq: number): void {
    const newBase = Math.max(0, seq - (seq % 8) - this.bits.length * 8);
    const shiftBytes = (this.base - newBase) / 8;
    const grown = new Uint8Array(this.bits.length + shiftBytes);
    grown.set(this.bits, shiftBytes);
    this.bits = grown;
    this.base = newBase;
  }

  has(seq: number): boolean {
    if (this.base < 0 || seq < this.base) return false;
    const offset = seq - this.base;
    const byte = Math.floor(offset / 8);
    return byte < this.bits.length && ((this.bits[byte] ?? 0) & (1 << (offset & 7))) !== 0;
  }

  ranges(): SeqRanges {
    const ranges: SeqRanges = [];
    if (this.base < 0) return ranges;
    let start = -1;
    const limit = this.base + this.bits.length * 8;
    for (let seq = this.base; seq <= limit; seq += 1) {
      const present = seq < limit && this.has(seq);
      if (present && start < 0) start = seq;
      if (!present && start >= 0) {
        ranges.push([start, seq - 1]);
        start = -1;
      }
    }
    return ranges;
  }
}

export interface AckedRejectedMessage {
  deviceId: string;
  seq: number;
  fault: FaultKind;
  topic: string;
}

/**
 * What the broker acknowledged, per reading, so a downstream "nothing lost" check can compare
 * the stream against exactly what the simulator got acks for. Readings whose fault makes ingest
 * reject them (FAULT_OUTCOMES 'dead-letter') are kept apart: they must reach the dead-letter
 * stream, not the telemetry stream.
 */
export class AckLedger {
  private readonly accepted = new Map<string, SeqBitmap>();
  readonly rejected: AckedRejectedMessage[] = [];
  rejectedDropped = 0;

  constructor(private readonly rejectedLimit = 100_000) {}

  recordAccepted(deviceId: string, seq: number): void {
    let bitmap = this.accepted.get(deviceId);
    if (bitmap === undefined) {
      bitmap = new SeqBitmap();
      this.accepted.set(deviceId, bitmap);
    }
    bitmap.add(seq);
  }

  recordRejected(message: AckedRejectedMessage): void {
    if (this.rejected.length < this.rejectedLimit) this.rejected.push(message);
    else this.rejectedDropped += 1;
  }

  /** Was this (deviceId, seq) acked as a reading the stream should hold? */
  has(deviceId: string, seq: number): boolean {
    return this.accepted.get(deviceId)?.has(seq) ?? false;
  }

  /** Distinct acked readings the stream should hold. */
  get acceptedCount(): number {
    let total = 0;
    for (const bitmap of this.accepted.values()) total += bitmap.size;
    return total;
  }

  /** The compact form: per device, the acked sequence numbers as inclusive ranges. */
  acceptedRanges(): Record<string, SeqRanges> {
    const result: Record<string, SeqRanges> = {};
    for (const [deviceId, bitmap] of [...this.accepted.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      result[deviceId] = bitmap.ranges();
    }
    return result;
  }

  /** Every acked (deviceId, seq) the stream should hold, device by device, seq ascending. */
  *acceptedReadings(): Generator<{ deviceId: string; seq: number }> {
    for (const [deviceId, ranges] of Object.entries(this.acceptedRanges())) {
      for (const [from, to] of ranges) {
        for (let seq = from; seq <= to; seq += 1) yield { deviceId, seq };
      }
    }
  }
}

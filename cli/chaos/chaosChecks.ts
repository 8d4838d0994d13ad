/**
 * What a chaos run must find after the load stopped and the pipeline drained, checked against
 * the servers' contents rather than the workers' own counters:
 * - every reading the devices got an ack for is in PostgreSQL and in the lake exactly once;
 * - the aggregates in Redis equal the reference computed from the distinct readings;
 * - no alert was raised twice (no two alerts of one device and rule open at once);
 * - every malformed message the devices got an ack for is in the ingest dead-letter stream with
 *   the reason its fault calls for.
 */
import type Redis from 'ioredis';
import { Client } from 'pg';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';
import { aggregateDifferences, aggregatesInRedis, referenceAggregates } from '../../processors/aggregate/aggregateOracle';
import type { WindowSettings } from '../../processors/aggregate/aggregateSettings';
import { readLake } from '../../processors/storage/lake/lakeReader';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter, EnrichedReading, TelemetryReading } from '../../schemas/records';
import type { StreamClient, StreamRecord } from '../../streams/streamClient';
import type { AckLedger } from '../../simulators/ackLedger';
import { FAULT_OUTCOMES } from '../../simulators/faultKinds';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosCheckInputs {
  ledger: AckLedger;
  firstSeq: number;
  pgUrl: string;
  lakeDir: string;
  redis: Redis;
  keyPrefix: string;
  windows: WindowSettings;
  streams: StreamClient;
  codec: AvroCodec;
  enrichedStream: string;
  telemetryStream: string;
  deadLetterStream: string;
}

export interface ChaosCounts {
  /** records in the telemetry stream (valid messages ingest produced, redeliveries included) */
  ingestedRecords: number;
  /** distinct (deviceId, seq) in PostgreSQL */
  storedDistinct: number;
  /** records in the enriched stream */
  enrichedRecords: number;
  deadLetters: number;
}

/** Every record of a stream, partition by partition from the earliest. */
export async function readWholeStream(client: StreamClient, stream: string): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const partition of await client.listPartitions(stream)) {
    const reader = await client.openReader(stream, partition.id, { type: 'earliest' });
    try {
      let empty = 0;
      while (empty < 2) {
        const result = await reader.read({ maxRecords: 5000, waitMs: 300 });
        records.push(...result.records);
        if (result.endOfPartition) break;
        empty = result.records.length === 0 ? empty + 1 : 0;
      }
    } finally {
      await reader.close();
    }
  }
  return records;
}

const key = (deviceId: string, seq: number): string => `${deviceId}\u0000${seq}`;

async function storedRows(pgUrl: string, firstSeq: number): Promise<Map<string, number>> {
  const client = new Client({ connectionString: pgUrl, application_name: 'sluice-chaos-check' });
  await client.connect();
  try {
    const result = await client.query<{ device_id: string; seq: string; copies: string }>('SELECT device_id, seq, count(*) AS copies FROM readings WHERE seq >= $1 GROUP BY device_id, seq', [firstSeq]);
    return new Map(result.rows.map((row) => [key(row.device_id, Number(row.seq)), Number(row.copies)]));
  } finally {
    await client.end();
  }
}

/** Which stream a reading reached, to say where a missing one was lost. */
interface Reached {
  telemetry: ReadonlySet<string>;
  enriched: ReadonlySet<string>;
}

function storageCheck(name: string, ledger: AckLedger, copies: ReadonlyMap<string, number>, reached: Reached): CheckResult {
  let missing = 0;
  const examples: string[] = [];
  const lostAt = { ingest: 0, transform: 0, storage: 0 };
  for (const { deviceId, seq } of ledger.acceptedReadings()) {
    const at = key(deviceId, seq);
    if ((copies.get(at) ?? 0) === 0) {
      missing += 1;
      if (examples.length < 5) examples.push(`${deviceId}/${seq}`);
      if (!reached.telemetry.has(at)) lostAt.ingest += 1;
      else if (!reached.enriched.has(at)) lostAt.transform += 1;
      else lostAt.storage += 1;
    }
  }
  const duplicated = [...copies.values()].filter((n) => n > 1).length;
  const where = missing > 0 ? ` — never reached the telemetry stream: ${lostAt.ingest}, not in the enriched stream: ${lostAt.transform}, enriched but not stored: ${lostAt.storage}` : '';
  return {
    name,
    ok: missing === 0 && duplicated === 0,
    detail: `${ledger.acceptedCount} acked readings: ${missing} missing${examples.length ? ` (${examples.join(', ')})` : ''}${where}, ${duplicated} stored more than once; ${copies.size} distinct stored`,
  };
}

async function alertsCheck(pgUrl: string): Promise<CheckResult> {
  const client = new Client({ connectionString: pgUrl, application_name: 'sluice-chaos-check' });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass('alerts') AS t");
    if ((exists.rows[0] as { t: string | null }).t === null) return { name: 'alerts raised once', ok: true, detail: 'no alert was raised (no alerts table)' };
    const result = await client.query<{ device_id: string; rule_id: string; raised: Date; cleared: Date | null }>('SELECT device_id, rule_id, raised_at AS raised, cleared_at AS cleared FROM alerts ORDER BY device_id, rule_id, raised_at');
    let overlaps = 0;
    const examples: string[] = [];
    for (let i = 1; i < result.rows.length; i += 1) {
      const previous = result.rows[i - 1];
      const current = result.rows[i];
      if (!previous || !current || previous.device_id !== current.device_id || previous.rule_id !== current.rule_id) continue;
      // one open alert per (device, rule): the earlier one must have cleared before the next was raised
      if (previous.cleared === null || previous.cleared.getTime() > current.raised.getTime()) {
        overlaps += 1;
        if (examples.length < 3) examples.push(`${current.device_id}/${current.rule_id}`);
      }
    }
    return { name: 'alerts raised once', ok: overlaps === 0, detail: `${result.rows.length} alerts; ${overlaps} raised while another of the same device and rule was open${examples.length ? ` (${examples.join(', ')})` : ''}` };
  } finally {
    await client.end();
  }
}

async function deadLetterCheck(inputs: ChaosCheckInputs): Promise<{ result: CheckResult; count: number }> {
  const records = await readWholeStream(inputs.streams, inputs.deadLetterStream);
  const found = new Map<string, number>();
  for (const record of records) {
    const letter = (await inputs.codec.decode(record.value)) as DeadLetter;
    const at = `${letter.source.address}\u0000${letter.reasonCode}`;
    found.set(at, (found.get(at) ?? 0) + 1);
  }
  const expected = new Map<string, number>();
  for (const rejected of inputs.ledger.rejected) {
    const at = `${rejected.topic}\u0000${FAULT_OUTCOMES[rejected.fault].deadLetterReason ?? '?'}`;
    expected.set(at, (expected.get(at) ?? 0) + 1);
  }
  let missing = 0;
  for (const [at, count] of expected) missing += Math.max(0, count - (found.get(at) ?? 0));
  const reasons = new Map<string, number>();
  for (const rejected of inputs.ledger.rejected) {
    const reason = FAULT_OUTCOMES[rejected.fault].deadLetterReason ?? '?';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return {
    count: records.length,
    result: {
      name: 'malformed input dead-lettered',
      ok: missing === 0 && inputs.ledger.rejectedDropped === 0,
      detail: `${inputs.ledger.rejected.length} acked malformed messages (${[...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none'}): ${missing} not in the dead-letter stream with their topic and reason; ${records.length} dead letters in all`,
    },
  };
}

async function aggregateCheck(inputs: ChaosCheckInputs): Promise<{ result: CheckResult; enrichedRecords: number; enrichedKeys: Set<string> }> {
  const records = await readWholeStream(inputs.streams, inputs.enrichedStream);
  const readings: EnrichedReading[] = [];
  for (const record of records) readings.push((await inputs.codec.decode(record.value)) as EnrichedReading);
  const expected = referenceAggregates(readings.filter((r) => r.seq >= inputs.firstSeq), inputs.windows);
  const actual = await aggregatesInRedis(inputs.redis, new AggregateKeys(inputs.keyPrefix), inputs.windows.quantiles);
  const differences = aggregateDifferences(actual, expected);
  return {
    enrichedRecords: records.length,
    enrichedKeys: new Set(readings.map((r) => key(r.deviceId, r.seq))),
    result: {
      name: 'aggregates counted once',
      ok: differences.length === 0,
      detail: `${expected.size} window metrics from ${new Set(readings.map((r) => key(r.deviceId, r.seq))).size} distinct readings (${records.length} enriched records): ${differences.length} differ${differences.length ? ` — ${differences.slice(0, 3).join('; ')}` : ''}`,
    },
  };
}

export async function runChaosChecks(inputs: ChaosCheckInputs): Promise<{ checks: CheckResult[]; counts: ChaosCounts }> {
  const copies = await storedRows(inputs.pgUrl, inputs.firstSeq);
  const lakeCopies = new Map<string, number>();
  for (const reading of await readLake(inputs.lakeDir)) lakeCopies.set(key(reading.deviceId, reading.seq), (lakeCopies.get(key(reading.deviceId, reading.seq)) ?? 0) + 1);
  const telemetry = await readWholeStream(inputs.streams, inputs.telemetryStream);
  const telemetryKeys = new Set<string>();
  for (const record of telemetry) {
    const reading = (await inputs.codec.decode(record.value)) as TelemetryReading;
    telemetryKeys.add(key(reading.deviceId, reading.seq));
  }
  const aggregates = await aggregateCheck(inputs);
  const reached = { telemetry: telemetryKeys, enriched: aggregates.enrichedKeys };
  const deadLetters = await deadLetterCheck(inputs);
  const checks = [
    storageCheck('stored once in PostgreSQL', inputs.ledger, copies, reached),
    storageCheck('stored once in the lake', inputs.ledger, lakeCopies, reached),
    aggregates.result,
    await alertsCheck(inputs.pgUrl),
    deadLetters.result,
  ];
  return { checks, counts: { ingestedRecords: telemetry.length, storedDistinct: copies.size, enrichedRecords: aggregates.enrichedRecords, deadLetters: deadLetters.count } };
}

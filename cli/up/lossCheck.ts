/**
 * "loss = 0", checked: every reading the simulator got an ack for (its ledger), and that ingest
 * should accept, must be in storage — the PostgreSQL `readings` table, or the lake files when
 * there is no PostgreSQL. Counted per (deviceId, seq), so duplicates cannot hide a loss.
 */
import { Client } from 'pg';
import { readLake } from '../../processors/storage/lake/lakeReader';
import type { AckLedger } from '../../simulators/ackLedger';

export interface LossCheck {
  where: 'postgres' | 'lake';
  /** acked readings ingest should accept */
  expected: number;
  /** of those, found in storage */
  stored: number;
  missing: number;
  /** up to 10 missing (deviceId, seq), for the report */
  missingExamples: string[];
}

function check(ledger: AckLedger, present: (deviceId: string, seq: number) => boolean, where: LossCheck['where']): LossCheck {
  let expected = 0;
  let stored = 0;
  const missingExamples: string[] = [];
  for (const { deviceId, seq } of ledger.acceptedReadings()) {
    expected += 1;
    if (present(deviceId, seq)) stored += 1;
    else if (missingExamples.length < 10) missingExamples.push(`${deviceId}/${seq}`);
  }
  return { where, expected, stored, missing: expected - stored, missingExamples };
}

/** Which (deviceId, seq) the readings table holds for these devices from `firstSeq` on. */
async function storedInPostgres(pgUrl: string, deviceIds: string[], firstSeq: number): Promise<Map<string, Set<number>>> {
  const client = new Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const result = await client.query<{ device_id: string; seq: string }>('SELECT device_id, seq FROM readings WHERE device_id = ANY($1) AND seq >= $2', [deviceIds, firstSeq]);
    const stored = new Map<string, Set<number>>();
    for (const row of result.rows) {
      let seqs = stored.get(row.device_id);
      if (!seqs) stored.set(row.device_id, (seqs = new Set()));
      seqs.add(Number(row.seq));
    }
    return stored;
  } finally {
    await client.end();
  }
}

export async function checkLoss(ledger: AckLedger, storage: { pgUrl?: string; lakeDir: string }, firstSeq: number): Promise<LossCheck> {
  const deviceIds = Object.keys(ledger.acceptedRanges());
  if (storage.pgUrl) {
    const stored = await storedInPostgres(storage.pgUrl, deviceIds, firstSeq);
    return check(ledger, (deviceId, seq) => stored.get(deviceId)?.has(seq) === true, 'postgres');
  }
  const lake = new Set((await readLake(storage.lakeDir)).map((reading) => `${reading.deviceId}/${reading.seq}`));
  return check(ledger, (deviceId, seq) => lake.has(`${deviceId}/${seq}`), 'lake');
}

/**
 * Drain: checks once a second until storage holds every acked reading or `deadlineMs` passes,
 * and returns the last check (what is still missing, if anything) and how long it took.
 */
export async function waitUntilStored(ledger: AckLedger, storage: { pgUrl?: string; lakeDir: string }, firstSeq: number, deadlineMs: number): Promise<{ loss: LossCheck; seconds: number }> {
  const started = Date.now();
  let loss = await checkLoss(ledger, storage, firstSeq);
  while (loss.missing > 0 && Date.now() - started < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    loss = await checkLoss(ledger, storage, firstSeq);
  }
  return { loss, seconds: (Date.now() - started) / 1000 };
}

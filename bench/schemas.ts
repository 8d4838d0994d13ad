/**
 * `npm run bench -- schemas` (once wired into bench/index.ts): encode/decode ops/s of one telemetry
 * reading through AvroCodec (Confluent header, value hazard check, body bounds check, async
 * registry lookup served from cache) against raw avsc toBuffer/fromBuffer and JSON in the same
 * run. Each case runs for a fixed time per round, rounds alternate, medians are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AvroCodec } from '../schemas/avroCodec';
import { FileSchemaStore } from '../schemas/fileSchemaStore';
import type { TelemetryReading } from '../schemas/records';
import { SchemaRegistry } from '../schemas/schemaRegistry';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../schemas/sluiceSchemas';
import type { BenchSuite } from './index';

const ROUNDS = 5;
const ROUND_MS = Number(process.env.SLUICE_BENCH_ROUND_MS ?? 400);
/** Operations per timing check, so reading the clock does not dominate. */
const CHUNK = 1000;

const reading: TelemetryReading = {
  deviceId: 'thermo-0042',
  deviceType: 'thermostat',
  eventTime: 1_700_000_000_123,
  seq: 981_234,
  metrics: { temperature: 21.5, humidity: 48.25, pressure: 1013.2 },
  location: { lat: 59.3293, lon: 18.0686, alt: null },
  battery: 0.87,
  firmware: '2.4.1',
  ingestTime: 1_700_000_000_456,
};

type Operation = () => unknown;

interface Sample {
  opsPerSec: number;
  /** CPU time of this process per operation: steadier than ops/s on a shared, loaded machine. */
  cpuNanosPerOp: number;
}

async function measure(operation: Operation, isAsync: boolean): Promise<Sample> {
  let done = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    if (isAsync) for (let i = 0; i < CHUNK; i++) await operation();
    else for (let i = 0; i < CHUNK; i++) operation();
    done += CHUNK;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuStart);
  return { opsPerSec: done / (Number(now - start) / 1e9), cpuNanosPerOp: ((cpu.user + cpu.system) * 1000) / done };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export const schemasBench: BenchSuite = {
  name: 'schemas',
  description: `AvroCodec encode/decode of a telemetry reading vs raw avsc and JSON (${ROUNDS} rounds x ${ROUND_MS} ms, medians)`,
  async run() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-schemas-'));
    try {
      const registry = new SchemaRegistry(new FileSchemaStore(path.join(dir, 'registry.json')));
      await registerSluiceSchemas(registry);
      const v1 = await registry.getLatest(SUBJECTS.telemetryReading);
      if (!v1) throw new Error('telemetry schema missing');
      const schema = loadSluiceSchema(SUBJECTS.telemetryReading) as { fields: unknown[] };
      const v2 = await registry.registerVersion(SUBJECTS.telemetryReading, { ...schema, fields: [...schema.fields, { name: 'zone', type: ['null', 'string'], default: null }] });

      const codec = new AvroCodec(registry);
      const message = await codec.encode(v1.id, reading);
      const avroBody = v1.type.toBuffer(reading);
      const json = JSON.stringify(reading);

      const cases: Record<string, { operation: Operation; isAsync: boolean }> = {
        rawAvscEncode: { operation: () => v1.type.toBuffer(reading), isAsync: false },
        codecEncode: { operation: () => codec.encode(v1.id, reading), isAsync: true },
        rawAvscDecode: { operation: () => v1.type.fromBuffer(avroBody), isAsync: false },
        codecDecode: { operation: () => codec.decode(message), isAsync: true },
        codecDecodeV2Reader: { operation: () => codec.decode(message, v2.type), isAsync: true },
        jsonStringify: { operation: () => JSON.stringify(reading), isAsync: false },
        jsonParse: { operation: () => JSON.parse(json) as unknown, isAsync: false },
      };
      const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, { operation, isAsync }] of Object.entries(cases)) samples[name]?.push(await measure(operation, isAsync));
      }
      const summary = (pick: (sample: Sample) => number) => Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Math.round(median(values.map(pick)))]));
      const opsPerSec = summary((sample) => sample.opsPerSec);
      const cpuNanosPerOp = summary((sample) => sample.cpuNanosPerOp);
      /** Our throughput as a share of raw avsc's, from CPU time per op. */
      const ratio = (ours: string, raw: string) => Number(((cpuNanosPerOp[raw] ?? 0) / (cpuNanosPerOp[ours] ?? 1)).toFixed(3));
      return {
        opsPerSec,
        cpuNanosPerOp,
        codecVsRawAvsc: { encode: ratio('codecEncode', 'rawAvscEncode'), decode: ratio('codecDecode', 'rawAvscDecode') },
        bytes: { wireMessage: message.length, avroBody: avroBody.length, json: Buffer.byteLength(json) },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

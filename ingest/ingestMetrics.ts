/** Prometheus metrics of the ingest function: what came in, what went where, and why it was refused. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface IngestMetrics {
  readonly registry: Registry;
  messagesReceived: Counter<'source'>;
  readingsProduced: Counter<'source'>;
  /** Dead-lettered messages per reason code (too_large, bad_json, schema_violation, topic_mismatch, ...). */
  rejected: Counter<'source' | 'reason'>;
  produceFailures: Counter<'stream'>;
  inFlight: Gauge;
  batchSize: Histogram;
}

export function createIngestMetrics(registry = new Registry()): IngestMetrics {
  return {
    registry,
    messagesReceived: new Counter({ name: 'sluice_ingest_messages_received_total', help: 'messages taken in', labelNames: ['source'], registers: [registry] }),
    readingsProduced: new Counter({ name: 'sluice_ingest_readings_produced_total', help: 'valid readings durable in the telemetry stream', labelNames: ['source'], registers: [registry] }),
    rejected: new Counter({ name: 'sluice_ingest_rejected_total', help: 'messages durable in the dead-letter stream, per reason code', labelNames: ['source', 'reason'], registers: [registry] }),
    produceFailures: new Counter({ name: 'sluice_ingest_produce_failures_total', help: 'produce calls that failed after retries (messages left unacked for redelivery)', labelNames: ['stream'], registers: [registry] }),
    inFlight: new Gauge({ name: 'sluice_ingest_in_flight_messages', help: 'messages taken in and not yet acked', registers: [registry] }),
    batchSize: new Histogram({ name: 'sluice_ingest_batch_size', help: 'messages per produced batch', buckets: [1, 10, 50, 100, 250, 500, 1000], registers: [registry] }),
  };
}

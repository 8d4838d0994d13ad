/**
 * Prometheus metrics of the function runtime, per mapping (function) and partition, named
 * after what Lambda reports in CloudWatch for stream mappings (Invocations, Errors,
 * IteratorAge...) so dashboards translate.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface RuntimeMetrics {
  readonly registry: Registry;
  invocations: Counter<'function' | 'partition'>;
  errors: Counter<'function' | 'partition'>;
  retries: Counter<'function' | 'partition'>;
  failureDestinationRecords: Counter<'function' | 'partition' | 'condition'>;
  recordsRead: Counter<'function' | 'partition'>;
  recordsFiltered: Counter<'function' | 'partition'>;
  batchSize: Histogram<'function'>;
  durationSeconds: Histogram<'function'>;
  iteratorAgeMs: Gauge<'function' | 'partition'>;
  instances: Gauge<'function'>;
  coldStarts: Counter<'function'>;
  checkpoints: Counter<'function' | 'partition'>;
}

export function createRuntimeMetrics(registry = new Registry()): RuntimeMetrics {
  const labelNames = ['function', 'partition'] as const;
  return {
    registry,
    invocations: new Counter({ name: 'sluice_runtime_invocations_total', help: 'handler invocations', labelNames, registers: [registry] }),
    errors: new Counter({ name: 'sluice_runtime_errors_total', help: 'invocations that failed (error, timeout, or a failing partial batch response)', labelNames, registers: [registry] }),
    retries: new Counter({ name: 'sluice_runtime_retries_total', help: 'batch retries', labelNames, registers: [registry] }),
    failureDestinationRecords: new Counter({ name: 'sluice_runtime_failure_destination_records_total', help: 'records handed to the on-failure destination', labelNames: ['function', 'partition', 'condition'], registers: [registry] }),
    recordsRead: new Counter({ name: 'sluice_runtime_records_read_total', help: 'records read from the stream', labelNames, registers: [registry] }),
    recordsFiltered: new Counter({ name: 'sluice_runtime_records_filtered_total', help: 'records dropped by FilterCriteria (checkpointed past)', labelNames, registers: [registry] }),
    batchSize: new Histogram({ name: 'sluice_runtime_batch_size', help: 'records per invocation', labelNames: ['function'], buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers: [registry] }),
    durationSeconds: new Histogram({ name: 'sluice_runtime_duration_seconds', help: 'handler duration', labelNames: ['function'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] }),
    iteratorAgeMs: new Gauge({ name: 'sluice_runtime_iterator_age_ms', help: 'age of the last record read (Lambda IteratorAge)', labelNames, registers: [registry] }),
    instances: new Gauge({ name: 'sluice_runtime_instances', help: 'warm function instances', labelNames: ['function'], registers: [registry] }),
    coldStarts: new Counter({ name: 'sluice_runtime_cold_starts_total', help: 'instances started (cold starts)', labelNames: ['function'], registers: [registry] }),
    checkpoints: new Counter({ name: 'sluice_runtime_checkpoints_total', help: 'checkpoints written', labelNames, registers: [registry] }),
  };
}

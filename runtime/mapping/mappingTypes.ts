/**
 * The shape of an event source mapping in sluice: the AWS ESM knobs under their AWS names
 * (CreateEventSourceMapping), plus `Function` (what Lambda keeps on the function itself) and
 * `Runtime` (how the local runtime behaves). A mapping file is this shape in YAML or JSON.
 */
import type { StreamKind } from '../../streams/streamClient';

export type SourceKind = StreamKind;
export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';
export type FunctionResponseType = 'ReportBatchItemFailures';
export type RuntimeMode = 'fast' | 'realistic';

export interface FilterCriteria {
  /** EventBridge patterns as JSON strings (like the AWS API); OR-ed; at most 5 */
  Filters: Array<{ Pattern: string }>;
}

export interface OnFailureDestination {
  /** a stream address (kafka://... or kinesis://...) that receives the AWS-shaped failure record */
  Destination: string;
  /** beyond AWS: also store the full failed records (`payload`), so `sluice dlq replay` can send them back */
  IncludeRecords: boolean;
}

export interface FunctionSettings {
  /** `./path/to/file.ts#exportName` relative to the mapping file (or the working directory); export defaults to `handler` */
  Handler: string;
  /** seconds, 1..900 (AWS default 3); an invocation running longer fails like "Task timed out after N seconds" */
  Timeout: number;
  /** MB, 128..10240 (AWS default 128); a label handed to the handler as context.memoryLimitInMB, not a limit */
  MemorySize: number;
  /** at most this many concurrent invocations of the function (AWS reserved concurrency); unset = no limit */
  ReservedConcurrentExecutions?: number;
}

export interface RuntimeSettings {
  /** fast: poll continuously, no cold starts (tests, throughput); realistic: Lambda-like polling and cold starts */
  Mode: RuntimeMode;
  /** pause between empty polls of a partition (ms); Lambda polls a shard about once a second */
  PollIntervalMs: number;
  /** delay added when an instance starts (first invocation, scale-out), like a Lambda cold start (ms) */
  ColdStartMs: number;
  /** added to every invocation before the handler runs (load tests: a heavier handler without writing one); default 0 */
  ExtraLatencyMs: number;
  /** at most this many function instances; unset = partitions x ParallelizationFactor */
  MaxInstances?: number;
}

export interface MappingConfig {
  FunctionName: string;
  /** the stream to read: kafka://brokers/topic or kinesis://endpoint/stream */
  Source: string;
  Enabled: boolean;
  BatchSize: number;
  MaximumBatchingWindowInSeconds: number;
  StartingPosition: StartingPosition;
  /** epoch seconds; set exactly when StartingPosition is AT_TIMESTAMP */
  StartingPositionTimestamp?: number;
  /** Kinesis only (Kafka: always 1, one poller per partition) */
  ParallelizationFactor: number;
  BisectBatchOnFunctionError: boolean;
  /** -1 = until the record expires or succeeds */
  MaximumRetryAttempts: number;
  /** -1 = records never expire */
  MaximumRecordAgeInSeconds: number;
  DestinationConfig?: { OnFailure: OnFailureDestination };
  FunctionResponseTypes: FunctionResponseType[];
  /** Kinesis only; 0 = no tumbling window */
  TumblingWindowInSeconds: number;
  FilterCriteria?: FilterCriteria;
  Function: FunctionSettings;
  Runtime: RuntimeSettings;
}

/** A mapping before validation: what a file or CLI flags give, any subset of the keys, untrusted types. */
export type MappingInput = Record<string, unknown>;

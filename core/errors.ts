/**
 * The one closed set of error codes sluice raises. Every error carries a machine-readable
 * `code` and a `retriable` flag (like kafkajs' KafkaJSError), so the retry module and the
 * runtime decide what to do from data, not from message text.
 */
export const ERROR_CODES = {
  // configuration and addressing: fail before anything starts
  CONFIG_INVALID: { retriable: false },
  ADDRESS_INVALID: { retriable: false },
  // streams
  STREAM_NOT_FOUND: { retriable: false },
  STREAM_EXISTS: { retriable: false },
  STREAM_NOT_READY: { retriable: true },
  PARTITION_NOT_FOUND: { retriable: false },
  POSITION_INVALID: { retriable: false },
  POSITION_EXPIRED: { retriable: false },
  RECORD_TOO_LARGE: { retriable: false },
  /** a record the stream cannot take as it is (e.g. an empty or over-long Kinesis partition key) */
  RECORD_INVALID: { retriable: false },
  /** an account or stream limit (shard count, stream count); asking again will not help */
  LIMIT_EXCEEDED: { retriable: false },
  THROUGHPUT_EXCEEDED: { retriable: true },
  CONNECTION_FAILED: { retriable: true },
  TIMEOUT: { retriable: true },
  PRODUCE_FAILED: { retriable: true },
  READER_CLOSED: { retriable: false },
  // schemas and the Avro codec (schemas/)
  SCHEMA_INVALID: { retriable: false },
  SCHEMA_INCOMPATIBLE: { retriable: false },
  ENCODE_FAILED: { retriable: false },
  DECODE_FAILED: { retriable: false },
  // runtime: leases, tumbling-window state, exactly-once Redis effects (runtime/)
  /** the caller no longer holds the shard lease (taken over, rewound or expired): stop and re-read; retrying will not help */
  LEASE_LOST: { retriable: false },
  /** tumbling-window state over the 1 MB AWS cap: the invocation fails, like Lambda */
  STATE_TOO_LARGE: { retriable: false },
  /** an operation built wrongly by its caller (e.g. an exactly-once Redis op with a non-integer increment, or on a key of another type) */
  OPERATION_INVALID: { retriable: false },
  // infrastructure
  PORT_IN_USE: { retriable: false },
  SERVICE_UNAVAILABLE: { retriable: true },
  // anything an adapter could not classify
  UNKNOWN: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SluiceErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** what the user can do about it, one line; the CLI prints it under the error */
  hint?: string;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.hint = options.hint;
  }
}

/** A configuration problem, named by its path (`runtime.batchSize: must be 1..10000, got 0`). */
export class ConfigError extends SluiceError {
  readonly path: string;

  constructor(path: string, problem: string, options: { hint?: string } = {}) {
    super('CONFIG_INVALID', `${path}: ${problem}`, options);
    this.name = 'ConfigError';
    this.path = path;
  }
}

/** Bad input the user can fix by changing a setting: a ConfigError, or an address that does not parse. */
export function isConfigurationError(error: unknown): boolean {
  return isSluiceError(error, 'CONFIG_INVALID') || isSluiceError(error, 'ADDRESS_INVALID');
}

export function isSluiceError(error: unknown, code?: ErrorCode): error is SluiceError {
  return error instanceof SluiceError && (code === undefined || error.code === code);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a device registry CSV:
 *
 *   device_id,device_type,site_id,temperature_max,humidity_max
 *   dev-0000,temperature-humidity,site-01,30,80
 *   dev-0001,pump-vibration,site-02,,
 *
 * The header names the columns (any order): device_id, device_type and site_id are required;
 * every other column is a threshold named `<metric>_min` or `<metric>_max`, and an empty cell
 * means "no such threshold for this device". Lines starting with # and empty lines are skipped;
 * fields may be quoted (RFC 4180, parsed by csv-parse). A UTF-8 byte order mark is ignored.
 *
 * Problems of the file as a whole (no header, a bad header, broken quoting) throw a ConfigError
 * naming the line; problems of single rows are collected, each with its line number, so a user
 * fixes a file in one pass.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { ConfigError } from '../../core/errors';
import type { DeviceRegistration } from './deviceRegistration';
import { parseThresholdKey, registrationProblems } from './deviceRegistration';

export interface CsvRowError {
  /** 1-based line of the file where the row ends (its only line, unless a quoted field spans lines) */
  line: number;
  message: string;
}

export interface ParsedDeviceCsv {
  devices: Array<{ line: number; device: DeviceRegistration }>;
  errors: CsvRowError[];
  /** data rows read (valid and invalid) */
  rows: number;
}

const REQUIRED_COLUMNS = ['device_id', 'device_type', 'site_id'] as const;
/** A plain decimal number: refuses what Number() would also take ('0x10', 'Infinity', '1_000', ' '). */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

interface CsvLine {
  info: { lines: number };
  record: string[];
}

interface Header {
  index: Record<(typeof REQUIRED_COLUMNS)[number], number>;
  thresholds: Array<{ column: number; key: string }>;
  width: number;
}

function readHeader(cells: readonly string[], source: string, line: number): Header {
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const thresholds: Header['thresholds'] = [];
  cells.forEach((name, column) => {
    const earlier = seen.get(name);
    if (earlier !== undefined) problems.push(`column ${column + 1} "${name}" repeats column ${earlier + 1}`);
    seen.set(name, column);
    if ((REQUIRED_COLUMNS as readonly string[]).includes(name)) return;
    if (parseThresholdKey(name)) thresholds.push({ column, key: name });
    else problems.push(`column ${column + 1} "${name}" is neither ${REQUIRED_COLUMNS.join(', ')} nor a threshold named <metric>_min or <metric>_max`);
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!seen.has(required)) problems.push(`the header has no ${required} column`);
  }
  if (problems.length > 0) throw new ConfigError(source, `line ${line} (header): ${problems.join('; ')}`);
  const index = Object.fromEntries(REQUIRED_COLUMNS.map((name) => [name, seen.get(name) as number])) as Header['index'];
  return { index, thresholds, width: cells.length };
}

function readRow(cells: readonly string[], header: Header): { device: DeviceRegistration } | { problems: string[] } {
  if (cells.length !== header.width) return { problems: [`${cells.length} fields, the header has ${header.width}`] };
  const problems: string[] = [];
  const thresholds: Record<string, number> = {};
  for (const { column, key } of header.thresholds) {
    const cell = cells[column] ?? '';
    if (cell === '') continue;
    if (!DECIMAL.test(cell) || !Number.isFinite(Number(cell))) problems.push(`${key} must be a number, got ${JSON.stringify(cell)}`);
    else thresholds[key] = Number(cell);
  }
  const device: DeviceRegistration = {
    deviceId: cells[header.index.device_id] ?? '',
    deviceType: cells[header.index.device_type] ?? '',
    siteId: cells[header.index.site_id] ?? '',
    thresholds,
  };
  problems.push(...registrationProblems(device));
  return problems.length > 0 ? { problems } : { device };
}

/** Parses and checks a registry CSV; `source` (a file name) goes into error messages. */
export function parseDeviceCsv(text: string | Buffer, source: string): ParsedDeviceCsv {
  let lines: CsvLine[];
  try {
    // csv-parse types the result as plain rows; `info: true` wraps each as { info, record }
    lines = parse(text, {
      bom: true,
      info: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      comment: '#',
      comment_no_infix: true,
    }) as unknown as CsvLine[];
  } catch (error) {
    if (error instanceof CsvError) throw new ConfigError(source, `line ${String((error as CsvError & { lines?: number }).lines ?? '?')}: ${error.message}`);
    throw error;
  }
  const [headerLine, ...rows] = lines;
  if (!headerLine) throw new ConfigError(source, `no header line: expected ${REQUIRED_COLUMNS.join(',')}[,<metric>_max,...]`);
  const header = readHeader(headerLine.record, source, headerLine.info.lines);

  const parsed: ParsedDeviceCsv = { devices: [], errors: [], rows: rows.length };
  const firstLineOf = new Map<string, number>();
  for (const { info, record } of rows) {
    const row = readRow(record, header);
    if ('problems' in row) {
      parsed.errors.push({ line: info.lines, message: row.problems.join('; ') });
      continue;
    }
    const earlier = firstLineOf.get(row.device.deviceId);
    if (earlier !== undefined) {
      parsed.errors.push({ line: info.lines, message: `device_id ${JSON.stringify(row.device.deviceId)} is already on line ${earlier}` });
      continue;
    }
    firstLineOf.set(row.device.deviceId, info.lines);
    parsed.devices.push({ line: info.lines, device: row.device });
  }
  return parsed;
}

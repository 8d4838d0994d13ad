/**
 * `sluice query latest <device>` and `sluice query windows <device> --from --to`: the aggregate
 * processor's live state in Redis (latest values; open and closed windows with count, mean,
 * min, max, stddev and percentiles). The same reads the dashboard serves over HTTP
 * (processors/aggregate/query.ts).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError } from '../../core/errors';
import { parseDuration } from '../../processors/aggregate/windowSpecs';
import type { LatestValues, WindowSummary } from '../../processors/aggregate/query';
import { latest, windowsOf } from '../../processors/aggregate/query';
import type { WindowKind } from '../../schemas/records';
import { WINDOW_KINDS } from '../../schemas/records';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';
import { formatTable } from './checkpoints';

interface QueryFlags {
  redisUrl?: string;
  keyPrefix?: string;
  json?: boolean;
}

interface WindowFlags extends QueryFlags {
  from: string;
  to: string;
  kind?: WindowKind;
  site?: boolean;
}

/**
 * A time for --from/--to: `now`, a relative `-15m` / `-2h`, epoch milliseconds, or an ISO 8601
 * time. A ConfigError names the flag otherwise.
 */
export function parseQueryTime(flag: string, text: string, now: number): number {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  if (trimmed.startsWith('-')) {
    const ago = parseDuration(trimmed.slice(1));
    if (ago !== undefined) return now - ago;
  } else if (/^\d+$/.test(trimmed)) {
    return Number(trimmed);
  } else {
    const parsed = Date.parse(trimmed);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new ConfigError(flag, `must be now, -<duration> (-15m, -2h), epoch milliseconds or an ISO time, got ${JSON.stringify(text)}`);
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function figure(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
}

export function latestTable(values: LatestValues): string[][] {
  return [
    ['metric', 'value', 'event time', 'seq'],
    ...Object.entries(values.metrics).sort(([a], [b]) => (a < b ? -1 : 1)).map(([metric, entry]) => [metric, figure(entry.value), iso(entry.time), String(entry.seq)]),
  ];
}

export function windowsTable(found: readonly WindowSummary[]): string[][] {
  const percentiles = [...new Set(found.flatMap((window) => Object.values(window.metrics).flatMap((metric) => Object.keys(metric.percentiles))))];
  const rows: string[][] = [['window', 'start', 'end', 'status', 'metric', 'count', 'mean', 'min', 'max', 'stddev', ...percentiles, 'first', 'last']];
  for (const window of found) {
    for (const [metric, summary] of Object.entries(window.metrics)) {
      rows.push([
        window.spec, iso(window.start), iso(window.end), window.status, metric, String(summary.count), figure(summary.mean), figure(summary.min), figure(summary.max), figure(summary.stddev),
        ...percentiles.map((name) => figure(summary.percentiles[name])), figure(summary.first.value), figure(summary.last.value),
      ]);
    }
  }
  return rows;
}

async function withRedis<T>(flags: QueryFlags, use: (redis: Awaited<ReturnType<typeof connectRedis>>) => Promise<T>): Promise<T> {
  const redis = await connectRedis(redisUrlFrom(flags.redisUrl));
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

function keyPrefixOf(flags: QueryFlags): string {
  return flags.keyPrefix ?? process.env.SLUICE_KEY_PREFIX ?? 'sluice';
}

export async function queryLatest(deviceId: string, flags: QueryFlags): Promise<LatestValues | null> {
  return withRedis(flags, (redis) => latest(redis, deviceId, { keyPrefix: keyPrefixOf(flags) }));
}

export async function queryWindows(id: string, flags: WindowFlags, now = Date.now()): Promise<WindowSummary[]> {
  const from = parseQueryTime('--from', flags.from, now);
  const to = parseQueryTime('--to', flags.to, now);
  if (from >= to) throw new ConfigError('--from', `must be before --to (${iso(from)} is not before ${iso(to)})`);
  return withRedis(flags, (redis) => windowsOf(redis, flags.site === true ? 'site' : 'device', id, from, to, flags.kind, { keyPrefix: keyPrefixOf(flags) }));
}

function addCommonOptions(command: Command): Command {
  return command
    .option('--redis-url <url>', 'Redis the aggregate processor writes to (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--key-prefix <prefix>', 'the Redis key prefix (default $SLUICE_KEY_PREFIX or sluice)')
    .option('--json', 'print JSON instead of a table');
}

export function registerQueryCommand(program: Command): void {
  const query = program.command('query').description('read live aggregates from Redis: latest values and windows of a device or site');
  addCommonOptions(query.command('latest').description('the latest value of each metric of a device').argument('<device>', 'device id'))
    .action(async (device: string, flags: QueryFlags) => {
      const values = await queryLatest(device, flags);
      if (flags.json === true) console.log(JSON.stringify(values, null, 2));
      else if (!values) console.log(`no values for device "${device}" (unknown, or quiet for longer than the retention period)`);
      else console.log(`${device}  site ${values.siteId ?? '-'}  type ${values.deviceType ?? '-'}  latest reading ${iso(values.eventTime)} (seq ${values.seq ?? '-'})\n${formatTable(latestTable(values))}`);
    });
  addCommonOptions(query.command('windows').description('the windows of a device (or --site) overlapping a time range, open and closed').argument('<id>', 'device id (site id with --site)'))
    .option('--from <time>', 'start: now, -15m, epoch ms or ISO time', '-1h')
    .option('--to <time>', 'end: now, -5m, epoch ms or ISO time', 'now')
    .addOption(new Option('--kind <kind>', 'only windows of this kind').choices([...WINDOW_KINDS]))
    .option('--site', 'the id is a site id: site-wide windows')
    .addHelpText('after', `
Examples:
  sluice query windows sensor-0001 --from -10m
  sluice query windows site-berlin --site --kind tumbling --from 2030-01-01T12:00:00Z --to 2030-01-01T13:00:00Z --json`)
    .action(async (id: string, flags: WindowFlags) => {
      const found = await queryWindows(id, flags);
      if (flags.json === true) console.log(JSON.stringify(found, null, 2));
      else if (found.length === 0) console.log(`no windows for ${flags.site === true ? 'site' : 'device'} "${id}" between ${flags.from} and ${flags.to}`);
      else console.log(formatTable(windowsTable(found)));
    });
}

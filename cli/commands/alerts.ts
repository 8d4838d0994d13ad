/**
 * `sluice alerts list|ack|clear`: the alerts processor's alerts, from its state in Redis.
 *
 * ack and clear change the alert the same way the processor does (with its version check, so
 * they never race a batch) and then send the transition to the processor's targets
 * (SLUICE_ALERTS_STREAM, SLUICE_MQTT_URL, SLUICE_PG_URL, SLUICE_WEBHOOK_URLS, as the processor
 * reads them). If sending fails, the change stands and the transition waits in the outbox
 * until the scheduled checkHeartbeats sends it.
 */
import type { Command } from 'commander';
import { ConfigError, errorMessage } from '../../core/errors';
import { ALERT_STATES } from '../../schemas/records';
import type { AlertState } from '../../schemas/records';
import { AlertKeys } from '../../processors/alerts/alertKeys';
import { OPERATOR_OWNER, acknowledgeAlertById, clearAlertById, listAlerts } from '../../processors/alerts/alertActions';
import type { AlertRecord, Notification } from '../../processors/alerts/alertRecord';
import { formatNumber } from '../../processors/alerts/alertRecord';
import { alertSettings } from '../../processors/alerts/alertSettings';
import { buildFanout, closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { drainOutbox } from '../../processors/alerts/outbox';
import { closeSharedResources, sharedCodec } from '../../processors/shared/processorResources';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';
import { formatTable } from './checkpoints';

interface CommonFlags {
  redisUrl?: string;
  keyPrefix?: string;
  json?: boolean;
}

interface ListFlags extends CommonFlags {
  device?: string;
  state?: string;
  limit: string;
}

interface ChangeFlags extends CommonFlags {
  by?: string;
}

function keysFrom(flags: CommonFlags): AlertKeys {
  return new AlertKeys(flags.keyPrefix ?? process.env.SLUICE_KEY_PREFIX ?? 'sluice');
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

export function alertTable(alerts: readonly AlertRecord[]): string {
  if (alerts.length === 0) return 'no alerts';
  return formatTable([
    ['ALERT', 'STATE', 'SEVERITY', 'DEVICE', 'RULE', 'VALUE', 'THRESHOLD', 'RAISED', 'MESSAGE'],
    ...alerts.map((a) => [a.alertId, a.state, a.severity, a.deviceId, a.ruleId, formatNumber(a.value), formatNumber(a.threshold), time(a.raisedAt), a.message]),
  ]);
}

async function withRedis<T>(flags: CommonFlags, use: (redis: Awaited<ReturnType<typeof connectRedis>>) => Promise<T>): Promise<T> {
  const redis = await connectRedis(redisUrlFrom(flags.redisUrl));
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
    await closeAlertsConnections();
    await closeSharedResources();
  }
}

export async function runList(flags: ListFlags): Promise<AlertRecord[]> {
  if (flags.state !== undefined && !(ALERT_STATES as readonly string[]).includes(flags.state)) {
    throw new ConfigError('--state', `must be one of ${ALERT_STATES.join(', ')}, got "${flags.state}"`);
  }
  const limit = Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ConfigError('--limit', `must be a positive integer, got "${flags.limit}"`);
  return withRedis(flags, (redis) => listAlerts(redis, keysFrom(flags), { deviceId: flags.device, state: flags.state as AlertState | undefined, limit }));
}

export interface ChangeResult {
  alert: AlertRecord;
  transition: Notification['transition'];
  /** undefined when the targets got it; otherwise why not (the timer sends it later) */
  notifyError?: string;
}

async function runChange(alertId: string, flags: ChangeFlags, change: typeof acknowledgeAlertById): Promise<ChangeResult> {
  const keys = keysFrom(flags);
  return withRedis(flags, async (redis) => {
    const notification = await change({ redis, keys, by: flags.by ?? process.env.USER ?? 'operator' }, alertId);
    let notifyError: string | undefined;
    try {
      const settings = alertSettings(process.env);
      const codec = settings.registry === undefined ? undefined : sharedCodec(settings.registry);
      const fanout = buildFanout(settings, codec, codec ? { codec, address: settings.deadLetterAddress } : undefined);
      await drainOutbox(redis, keys, fanout, OPERATOR_OWNER);
    } catch (error) {
      notifyError = errorMessage(error);
    }
    return { alert: notification.alert, transition: notification.transition, ...(notifyError === undefined ? {} : { notifyError }) };
  });
}

function printChange(result: ChangeResult, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`${result.alert.alertId} ${result.transition} (${result.alert.deviceId}, rule ${result.alert.ruleId})`);
  if (result.notifyError) console.error(`sluice: notifying failed (${result.notifyError}); the transition stays in the outbox and the scheduled checkHeartbeats sends it`);
}

function addCommonOptions(command: Command): Command {
  return command
    .option('--redis-url <url>', 'Redis with the alerts state (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--key-prefix <prefix>', 'the processors\' Redis key prefix (default $SLUICE_KEY_PREFIX or sluice)')
    .option('--json', 'print JSON');
}

export function registerAlertsCommand(program: Command): void {
  const alerts = program.command('alerts').description('list, acknowledge or clear the alerts raised by the alerts processor');
  addCommonOptions(alerts.command('list').description('open and acknowledged alerts, and cleared ones of the last 7 days, newest first'))
    .option('--device <deviceId>', 'only this device (site alerts: site:<siteId>)')
    .option('--state <state>', `only this state (${ALERT_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many', '100')
    .action(async (flags: ListFlags) => {
      const found = await runList(flags);
      console.log(flags.json ? JSON.stringify(found, null, 2) : alertTable(found));
    });
  addCommonOptions(alerts.command('ack').description('acknowledge an open alert: it stays active but is not re-notified').argument('<alertId>'))
    .option('--by <name>', 'who acknowledges (default $USER)')
    .action(async (alertId: string, flags: ChangeFlags) => printChange(await runChange(alertId, flags, acknowledgeAlertById), flags.json));
  addCommonOptions(alerts.command('clear').description('clear an open or acknowledged alert now; the rule\'s cooldown starts').argument('<alertId>'))
    .option('--by <name>', 'who clears (default $USER)')
    .action(async (alertId: string, flags: ChangeFlags) => printChange(await runChange(alertId, flags, clearAlertById), flags.json));
}

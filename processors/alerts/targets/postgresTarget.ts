/**
 * Alert notifications into PostgreSQL (alertsMigrations.ts): the transition into
 * `alert_transitions` (primary key alert_id + version: a second copy is ignored) and the alert's
 * latest version into `alerts` (an upsert that never moves a row to a lower version, so
 * notifications arriving out of order or twice leave the newest state). One transaction, one
 * statement per table, the rows as one JSON parameter.
 */
import type { Pool } from 'pg';
import { withPgClient } from '../../shared/pgConnections';
import type { AlertRecord, Notification } from '../alertRecord';
import { ensureAlertsSchema } from '../alertsMigrations';
import type { NotificationTarget } from './notificationTarget';

const UPSERT_ALERTS = `
  INSERT INTO alerts (alert_id, device_id, rule_id, severity, state, value, threshold, message, raised_at, updated_at,
                      acknowledged_at, acknowledged_by, cleared_at, cleared_by, family, kind, metric, version)
  SELECT r."alertId", r."deviceId", r."ruleId", r.severity, r.state, r.value, r.threshold, r.message,
         to_timestamp(r."raisedAt" / 1000.0), to_timestamp(r."updatedAt" / 1000.0),
         to_timestamp(r."acknowledgedAt" / 1000.0), r."acknowledgedBy", to_timestamp(r."clearedAt" / 1000.0), r."clearedBy",
         r.family, r.kind, r.metric, r.version
  FROM jsonb_to_recordset($1::jsonb) AS r("alertId" text, "deviceId" text, "ruleId" text, severity text, state text, value double precision,
       threshold double precision, message text, "raisedAt" double precision, "updatedAt" double precision, "acknowledgedAt" double precision,
       "acknowledgedBy" text, "clearedAt" double precision, "clearedBy" text, family text, kind text, metric text, version integer)
  ON CONFLICT (alert_id) DO UPDATE SET
    severity = EXCLUDED.severity, state = EXCLUDED.state, value = EXCLUDED.value, threshold = EXCLUDED.threshold, message = EXCLUDED.message,
    updated_at = EXCLUDED.updated_at, acknowledged_at = EXCLUDED.acknowledged_at, acknowledged_by = EXCLUDED.acknowledged_by,
    cleared_at = EXCLUDED.cleared_at, cleared_by = EXCLUDED.cleared_by, version = EXCLUDED.version
  WHERE alerts.version < EXCLUDED.version`;

const INSERT_TRANSITIONS = `
  INSERT INTO alert_transitions (alert_id, version, transition, state, at, value, alert)
  SELECT r.alert->>'alertId', (r.alert->>'version')::integer, r.transition, r.alert->>'state', to_timestamp(r.at / 1000.0),
         (r.alert->>'value')::double precision, r.alert
  FROM jsonb_to_recordset($1::jsonb) AS r(transition text, at double precision, alert jsonb)
  ON CONFLICT (alert_id, version) DO NOTHING`;

export class PostgresTarget implements NotificationTarget {
  readonly name = 'postgres';

  constructor(private readonly pool: Pool) {}

  async send(notifications: readonly Notification[]): Promise<void> {
    await ensureAlertsSchema(this.pool);
    // one row per alert (its newest version here): an upsert cannot touch a row twice in one statement
    const latest = new Map<string, AlertRecord>();
    for (const { alert } of notifications) {
      const known = latest.get(alert.alertId);
      if (!known || known.version < alert.version) latest.set(alert.alertId, alert);
    }
    const transitions = notifications.map((n) => ({ transition: n.transition, at: n.at, alert: n.alert }));
    // withPgClient: a connection dropped mid-transaction fails this send (the outbox keeps the
    // notifications for the retry) instead of crashing the process with an 'error' event
    await withPgClient(this.pool, async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(INSERT_TRANSITIONS, [JSON.stringify(transitions)]);
        await client.query(UPSERT_ALERTS, [JSON.stringify([...latest.values()])]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}

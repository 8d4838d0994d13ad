/**
 * Alerts as the dashboard lists and changes them, through the alerts processor's own operator
 * functions (processors/alerts/alertActions.ts): the same version-checked state change the
 * processor makes, so an Ack never races a batch. The change is queued in the processor's
 * `operator` outbox; with a fan-out (the processors' targets: alerts stream, MQTT, PostgreSQL,
 * webhooks) it is sent at once, otherwise the pipeline's timer sends it after its grace period.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { AlertNotFoundError, OPERATOR_OWNER, acknowledgeAlertById, clearAlertById, listAlerts } from '../../processors/alerts/alertActions';
import { AlertKeys } from '../../processors/alerts/alertKeys';
import type { AlertRecord, Notification } from '../../processors/alerts/alertRecord';
import { drainOutbox } from '../../processors/alerts/outbox';
import type { Fanout } from '../../processors/alerts/targets/notificationTarget';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import { DashboardNotFoundError } from './dashboardSources';
import type { AlertView } from './dashboardSources';

export interface AlertDeskOptions {
  redis: RedisConnection;
  keyPrefix: string;
  /** sends operator changes at once; undefined: the pipeline's timer sends them */
  fanout?: () => Fanout;
  logger?: Logger;
}

/** Open and acknowledged alerts the list shows at most. */
const LIST_LIMIT = 500;

export function alertView(record: AlertRecord): AlertView {
  return {
    alertId: record.alertId,
    deviceId: record.deviceId,
    ruleId: record.ruleId,
    severity: record.severity,
    state: record.state,
    value: record.value,
    threshold: record.threshold,
    message: record.message,
    raisedAt: record.raisedAt,
    updatedAt: record.updatedAt,
  };
}

export class AlertDesk {
  private readonly keys: AlertKeys;
  private readonly logger: Logger;

  constructor(private readonly options: AlertDeskOptions) {
    this.keys = new AlertKeys(options.keyPrefix);
    this.logger = options.logger ?? silentLogger;
  }

  /** Open and acknowledged alerts, newest raised first. */
  async list(): Promise<AlertView[]> {
    const [open, acknowledged] = await Promise.all([
      listAlerts(this.options.redis, this.keys, { state: 'open', limit: LIST_LIMIT }),
      listAlerts(this.options.redis, this.keys, { state: 'acknowledged', limit: LIST_LIMIT }),
    ]);
    return [...open, ...acknowledged].sort((a, b) => b.raisedAt - a.raisedAt || a.alertId.localeCompare(b.alertId)).map(alertView);
  }

  acknowledge(alertId: string, by: string): Promise<AlertView> {
    return this.act(alertId, () => acknowledgeAlertById({ redis: this.options.redis, keys: this.keys, by }, alertId));
  }

  clear(alertId: string, by: string): Promise<AlertView> {
    return this.act(alertId, () => clearAlertById({ redis: this.options.redis, keys: this.keys, by }, alertId));
  }

  private async act(alertId: string, change: () => Promise<Notification>): Promise<AlertView> {
    let notification: Notification;
    try {
      notification = await change();
    } catch (error) {
      if (error instanceof AlertNotFoundError) throw new DashboardNotFoundError(error.message);
      throw error;
    }
    if (this.options.fanout) {
      // the change is committed; a target that is down only delays the notification (the timer retries)
      await drainOutbox(this.options.redis, this.keys, this.options.fanout(), OPERATOR_OWNER).catch((error: unknown) => {
        this.logger.warn({ alertId, err: errorMessage(error) }, 'alert change committed; its notification waits for the timer');
      });
    }
    return alertView(notification.alert);
  }
}

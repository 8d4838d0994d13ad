/**
 * Alert notifications on the alerts stream ($SLUICE_ALERTS_STREAM) as Avro Alert records (every
 * state change is a new record with the same alertId), keyed by deviceId so one device's
 * alerts stay in order. Headers carry the notification id (consumers dedupe on it: delivery is
 * at-least-once), the transition and the alert's version.
 */
import type { AvroCodec } from '../../../schemas/avroCodec';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import type { StreamClient, StreamRecordInput } from '../../../streams/streamClient';
import { avroAlert } from '../alertRecord';
import type { Notification } from '../alertRecord';
import type { NotificationTarget } from './notificationTarget';

export const NOTIFICATION_ID_HEADER = 'sluice-notification-id';
export const TRANSITION_HEADER = 'sluice-alert-transition';
export const VERSION_HEADER = 'sluice-alert-version';

export class StreamTarget implements NotificationTarget {
  readonly name = 'stream';

  constructor(
    private readonly client: StreamClient,
    private readonly stream: string,
    private readonly codec: AvroCodec,
  ) {}

  async send(notifications: readonly Notification[]): Promise<void> {
    const records: StreamRecordInput[] = [];
    for (const notification of notifications) {
      records.push({
        key: notification.alert.deviceId,
        value: await this.codec.encode(SUBJECTS.alert, avroAlert(notification.alert)),
        headers: {
          [NOTIFICATION_ID_HEADER]: Buffer.from(notification.id),
          [TRANSITION_HEADER]: Buffer.from(notification.transition),
          [VERSION_HEADER]: Buffer.from(String(notification.alert.version)),
        },
      });
    }
    await this.client.produce(this.stream, records);
  }
}

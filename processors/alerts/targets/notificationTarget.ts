/**
 * Where alert notifications go. Every target must tolerate getting a notification twice (the
 * outbox re-sends whatever a crash left pending): each carries the notification id
 * `<alertId>/<version>` to dedupe on, and PostgreSQL dedupes by itself.
 */
import { SluiceError, errorMessage } from '../../../core/errors';
import type { Notification } from '../alertRecord';

export interface NotificationTarget {
  readonly name: string;
  /** Sends all of them, in order; throws when some could not be sent and should be retried. */
  send(notifications: readonly Notification[]): Promise<void>;
}

/** Sends to every target; a failure of one does not stop the others, and fails the whole send (to be retried). */
export class Fanout {
  constructor(readonly targets: readonly NotificationTarget[]) {}

  async send(notifications: readonly Notification[]): Promise<void> {
    if (notifications.length === 0) return;
    const results = await Promise.allSettled(this.targets.map((target) => target.send(notifications)));
    const failures = results.flatMap((result, index) => (result.status === 'rejected' ? [{ target: this.targets[index]?.name ?? '?', error: result.reason as unknown }] : []));
    const first = failures[0];
    if (first) {
      const names = failures.map((failure) => `${failure.target}: ${errorMessage(failure.error)}`).join('; ');
      const cause = first.error;
      // a configuration problem stays one; anything else is worth another try
      if (cause instanceof SluiceError && !cause.retriable) throw cause;
      throw new SluiceError('SERVICE_UNAVAILABLE', `sending ${notifications.length} alert notification(s) failed (${names}); they stay in the outbox`, { cause });
    }
  }
}

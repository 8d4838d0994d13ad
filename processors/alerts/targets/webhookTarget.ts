/**
 * Alert notifications POSTed to webhooks ($SLUICE_WEBHOOK_URLS) as JSON `{ id, transition, at,
 * alert }`, signed (webhookSignature.ts: `X-Sluice-Signature: t=<ts>,v1=<hmac>`, re-signed on
 * every attempt so a retry after a long backoff is still within the receiver's tolerance) and
 * carrying the notification id in `Idempotency-Key`, so a receiver can drop the copies that
 * at-least-once delivery brings.
 *
 * Each URL gets the notifications in order. A network error, a timeout, 408, 429 or a 5xx is
 * retried with exponential backoff (full jitter); after the last attempt, or at once on any
 * other status (a 4xx will not change by asking again), the notification goes to the
 * dead-letter stream and the send counts as done: one broken receiver does not hold back the
 * others or the batch. Only a failure to dead-letter fails the send (and is retried).
 */
import { errorMessage } from '../../../core/errors';
import { withRetry } from '../../../core/retry';
import type { Notification } from '../alertRecord';
import type { WebhookFailure } from '../deadLetters';
import { SIGNATURE_HEADER, signWebhookBody } from '../webhookSignature';
import type { NotificationTarget } from './notificationTarget';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export interface WebhookOptions {
  urls: readonly string[];
  secret: string;
  /** attempts after the first */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** per request */
  timeoutMs: number;
  deadLetter(failure: WebhookFailure): Promise<void>;
  now?: () => number;
}

class WebhookAttemptError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** A URL fit for messages and dead letters: no credentials, no query (tokens often travel there). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search ? '?…' : ''}`;
  } catch {
    return '(invalid url)';
  }
}

function retriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function webhookBody(notification: Notification): string {
  return JSON.stringify({ id: notification.id, transition: notification.transition, at: notification.at, alert: notification.alert });
}

export class WebhookTarget implements NotificationTarget {
  readonly name = 'webhooks';

  constructor(private readonly options: WebhookOptions) {}

  async send(notifications: readonly Notification[]): Promise<void> {
    await Promise.all(this.options.urls.map(async (url) => {
      for (const notification of notifications) await this.deliver(url, notification);
    }));
  }

  private async post(url: string, notification: Notification, body: string): Promise<void> {
    const now = this.options.now?.() ?? Date.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sluice-alerts',
          [SIGNATURE_HEADER]: signWebhookBody(this.options.secret, body, now),
          [IDEMPOTENCY_HEADER]: notification.id,
          'X-Sluice-Transition': notification.transition,
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new WebhookAttemptError(`POST ${redactUrl(url)} failed: ${errorMessage(error)}`, undefined, true);
    }
    // the body is not needed; reading it frees the connection for reuse
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    throw new WebhookAttemptError(`POST ${redactUrl(url)} answered ${response.status}`, response.status, retriableStatus(response.status));
  }

  private async deliver(url: string, notification: Notification): Promise<void> {
    const body = webhookBody(notification);
    let attempts = 0;
    try {
      await withRetry(async () => {
        attempts += 1;
        await this.post(url, notification, body);
      }, {
        retries: this.options.retries,
        initialDelayMs: this.options.initialDelayMs,
        maxDelayMs: this.options.maxDelayMs,
        factor: 2,
        isRetriable: (error) => error instanceof WebhookAttemptError && error.retriable,
      });
    } catch (error) {
      const status = error instanceof WebhookAttemptError ? error.status : undefined;
      await this.options.deadLetter({
        url: redactUrl(url),
        notificationId: notification.id,
        deviceId: notification.alert.deviceId,
        body,
        attempts,
        status,
        message: `${errorMessage(error)} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
      });
    }
  }
}

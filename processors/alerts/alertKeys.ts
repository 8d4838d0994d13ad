/**
 * Every Redis key of the alerts processor, built here only. Under `<prefix>:alerts:`:
 *
 *   state:reading:<deviceId>       hash v (version), s (EntityState JSON), d (device info JSON): reading + heartbeat rules
 *   state:aggregate:<entity>       hash, the same for aggregate rules (entity = deviceId or site:<siteId>)
 *   alert:<alertId>                string: the alert's latest AlertRecord JSON (cleared ones expire after the retention)
 *   active                         sorted set: open and acknowledged alert ids by raisedAt
 *   cleared                        sorted set: cleared alert ids by the clock time they cleared (trimmed to the retention)
 *   renotify                       sorted set: open alert ids by when their next re-notification is due
 *   last-heard:<ruleId>            sorted set: deviceId -> newest arrival time (heartbeat rules)
 *   outbox:<owner>                 hash: notification id -> pending notification JSON (owner: a stream scope, timer, operator)
 *   outboxes                       set: owners that have (or had) an outbox
 *
 * The exactly-once record of a scope is the runtime's (`<prefix>:{alerts/<kind>/<scope>}:applied`).
 * Keys of many devices go into one script, so this layout needs a single Redis (not Cluster).
 */
import { RedisKeys } from '../../runtime/redis/keys';
import type { AlertFamily } from './alertRecord';

export class AlertKeys {
  private readonly base: string;
  private readonly runtimeKeys: RedisKeys;

  constructor(readonly prefix: string = 'sluice') {
    this.runtimeKeys = new RedisKeys(prefix);
    this.base = `${prefix}:alerts`;
  }

  readingState(deviceId: string): string {
    return `${this.base}:state:reading:${deviceId}`;
  }

  aggregateState(entity: string): string {
    return `${this.base}:state:aggregate:${entity}`;
  }

  /** The state an alert of `family` lives in: heartbeats share the device's reading state (a reading clears them). */
  stateOf(family: AlertFamily, entity: string): string {
    return family === 'aggregate' ? this.aggregateState(entity) : this.readingState(entity);
  }

  alert(alertId: string): string {
    return `${this.base}:alert:${alertId}`;
  }

  active(): string {
    return `${this.base}:active`;
  }

  cleared(): string {
    return `${this.base}:cleared`;
  }

  renotify(): string {
    return `${this.base}:renotify`;
  }

  lastHeard(ruleId: string): string {
    return `${this.base}:last-heard:${ruleId}`;
  }

  outbox(owner: string): string {
    return `${this.base}:outbox:${owner}`;
  }

  outboxes(): string {
    return `${this.base}:outboxes`;
  }

  /** The exactly-once position record of a stream scope (`readings/kinesis:enriched/shardId-...`). */
  applied(scope: string): string {
    return this.runtimeKeys.exactlyOnceApplied(`alerts/${scope}`);
  }

  /** SCAN pattern of every alerts key under this prefix (tests, cleanup). */
  everything(): string {
    return `${this.base.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
  }
}

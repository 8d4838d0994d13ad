/**
 * What an AWS IoT topic rule hands the ingest function, turned into the message MQTT ingest
 * would have taken off the broker.
 *
 * The rule sluice deploys is `SELECT encode(*, 'base64') AS payload, topic() AS topic FROM
 * 'devices/+/telemetry'`: the device's exact bytes and the topic they came on. With those the
 * Lambda judges a message exactly like MQTT ingest does: a payload that is not JSON or is too
 * large becomes a dead letter (a plain `SELECT *` rule cannot even deliver non-JSON bytes to a
 * Lambda action), and the topic's device id is checked against the payload's (anti-spoofing).
 *
 * A rule written as plain `SELECT * FROM 'devices/+/telemetry'` delivers the parsed reading
 * itself; it is accepted too, without the topic check (there is no topic to compare with).
 */
import type { IngestMessage } from '../ingestPipeline';

/** The event of sluice's own rule: the payload's bytes in base64 and the MQTT topic. */
export interface IotTelemetryRuleEvent {
  payload: string;
  topic: string;
}

export const IOT_TELEMETRY_RULE_SQL = "SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'devices/+/telemetry'";

export function isIotTelemetryRuleEvent(event: unknown): event is IotTelemetryRuleEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const keys = Object.keys(event);
  const { payload, topic } = event as Record<string, unknown>;
  return keys.length === 2 && typeof payload === 'string' && typeof topic === 'string';
}

/** The message to ingest: the device's bytes and topic, or (plain `SELECT *`) the reading re-serialized, topic unknown. */
export function iotRuleMessage(event: unknown): IngestMessage {
  if (isIotTelemetryRuleEvent(event)) return { topic: event.topic, payload: Buffer.from(event.payload, 'base64') };
  return { topic: undefined, payload: Buffer.from(JSON.stringify(event) ?? 'null') };
}

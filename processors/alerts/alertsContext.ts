/**
 * What the handlers and `sluice alerts` share per process: settings, connections (opened once,
 * as a Lambda function keeps its clients between invocations), the rules (re-read when the
 * file changes) and the fan-out targets.
 */
import { ConfigError } from '../../core/errors';
import type { AvroCodec } from '../../schemas/avroCodec';
import { PG_APPLICATION_NAMES } from '../shared/pgConnections';
import { sharedCodec, sharedPgPool, sharedRedis, sharedStream } from '../shared/processorResources';
import { AlertKeys } from './alertKeys';
import { alertSettings } from './alertSettings';
import type { AlertSettings } from './alertSettings';
import type { AlertsStore } from './alertsEngine';
import { deadLetterWebhook } from './deadLetters';
import type { DeadLetterSink } from './deadLetters';
import { loadRuleSet } from './ruleFile';
import { closeMqttClients, MqttTarget } from './targets/mqttTarget';
import { Fanout } from './targets/notificationTarget';
import type { NotificationTarget } from './targets/notificationTarget';
import { PostgresTarget } from './targets/postgresTarget';
import { StreamTarget } from './targets/streamTarget';
import { WebhookTarget } from './targets/webhookTarget';

export interface AlertsContext {
  settings: AlertSettings;
  store: AlertsStore;
  keys: AlertKeys;
  codec: AvroCodec;
  fanout: Fanout;
  deadLetters: DeadLetterSink;
}

/** The fan-out the settings name (any subset of stream, MQTT, PostgreSQL, webhooks). */
export function buildFanout(settings: AlertSettings, codec: AvroCodec | undefined, deadLetters: DeadLetterSink | undefined): Fanout {
  const targets: NotificationTarget[] = [];
  if (settings.alertsStream !== undefined) {
    if (!codec) throw new ConfigError('$SLUICE_SCHEMA_REGISTRY', 'is not set, and the alerts stream carries Avro records');
    const { client, stream } = sharedStream(settings.alertsStream);
    targets.push(new StreamTarget(client, stream, codec));
  }
  if (settings.mqttUrl !== undefined) targets.push(new MqttTarget(settings.mqttUrl));
  if (settings.pgUrl !== undefined) targets.push(new PostgresTarget(sharedPgPool(settings.pgUrl, PG_APPLICATION_NAMES.alerts)));
  if (settings.webhooks) {
    const sink = deadLetters;
    targets.push(new WebhookTarget({
      ...settings.webhooks,
      deadLetter: (failure) => {
        if (!sink) throw new ConfigError('$SLUICE_SCHEMA_REGISTRY', 'is not set, so a failed webhook cannot be dead-lettered');
        return deadLetterWebhook(sink, failure);
      },
    }));
  }
  return new Fanout(targets);
}

const fanouts = new Map<string, Fanout>();

/** The context for this invocation's environment. */
export function alertsContext(env: NodeJS.ProcessEnv = process.env): AlertsContext {
  const settings = alertSettings(env);
  if (settings.registry === undefined) throw new ConfigError('$SLUICE_SCHEMA_REGISTRY', 'is not set (a registry file path or redis://host:port)');
  const codec = sharedCodec(settings.registry);
  const keys = new AlertKeys(settings.keyPrefix);
  const deadLetters: DeadLetterSink = { codec, address: settings.deadLetterAddress };
  const signature = JSON.stringify([settings.alertsStream, settings.mqttUrl, settings.pgUrl, settings.webhooks, settings.registry, settings.deadLetterAddress]);
  let fanout = fanouts.get(signature);
  if (!fanout) {
    fanout = buildFanout(settings, codec, deadLetters);
    fanouts.set(signature, fanout);
  }
  return {
    settings,
    keys,
    codec,
    fanout,
    deadLetters,
    store: { redis: sharedRedis(settings.redisUrl), keys, rules: loadRuleSet(settings.rulesFile) },
  };
}

/** Closes the alerts processor's own connections (MQTT); processors/shared closes the rest. */
export async function closeAlertsConnections(): Promise<void> {
  fanouts.clear();
  await closeMqttClients();
}

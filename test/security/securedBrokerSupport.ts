/**
 * A secured Mosquitto of the tests' own: provisioned into a temporary directory with free ports
 * (1884 and 1885 are not ours to take), started as `sluice devices broker up` starts it, and
 * stopped and removed afterwards. It is a real mosquitto process enforcing the generated
 * password file and ACL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { MqttProvisionOptions, MqttProvisionResult } from '../../security/mqttProvisioning';
import { provisionMqtt } from '../../security/mqttProvisioning';
import { readSecretFile } from '../../security/secretSources';
import { downSecuredMosquitto, upSecuredMosquitto } from '../../security/securedMosquitto';
import { readMqttCredentials } from '../../security/mqttCredentialsFile';
import { freePorts, removeRunFiles } from '../infra/infraTestSupport';

export interface SecuredBroker {
  dir: string;
  provision: MqttProvisionResult;
  url: string;
  /** mqtts://localhost:<port> when provisioned with TLS */
  tlsUrl: string | undefined;
  passwords: Map<string, string>;
  ingestPassword: string;
  alertsPassword: string;
  /** provisions again into the same directory (the broker keeps running) */
  reprovision(options: Partial<MqttProvisionOptions>): Promise<MqttProvisionResult>;
  stop(): Promise<void>;
}

/** A temporary directory Mosquitto (which drops to its own user when started as root) can pass through. */
export function brokerReachableTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${label}-`));
  fs.chmodSync(dir, 0o711);
  return dir;
}

export async function startSecuredBroker(options: Omit<MqttProvisionOptions, 'outDir' | 'port' | 'tls'> & { tls?: boolean }): Promise<SecuredBroker> {
  const root = brokerReachableTempDir('secured-broker');
  const dir = path.join(root, 'mqtt');
  const [port, tlsPort] = await freePorts(2);
  const base: MqttProvisionOptions = { ...options, outDir: dir, port, tls: options.tls === true ? { port: tlsPort } : undefined };
  const provision = await provisionMqtt(base);
  let running = false;
  const broker: SecuredBroker = {
    dir,
    provision,
    url: provision.mqttUrl,
    tlsUrl: provision.mqttsUrl,
    passwords: readMqttCredentials(provision.files.credentials),
    ingestPassword: readSecretFile(provision.files.ingestPassword, 'ingest'),
    alertsPassword: readSecretFile(provision.files.alertsPassword, 'alerts'),
    async reprovision(changes) {
      const result = await provisionMqtt({ ...base, ...changes });
      broker.passwords = readMqttCredentials(result.files.credentials);
      return result;
    },
    async stop() {
      if (running) await downSecuredMosquitto({ provisionDir: dir });
      removeRunFiles(`mosquitto-secure-${port}`);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await upSecuredMosquitto({ provisionDir: dir });
    running = true;
  } catch (error) {
    await broker.stop();
    throw error;
  }
  return broker;
}

/** Connects and waits for CONNACK; rejects with mqtt.js's error (its `code` is the CONNACK reason). */
export async function connectMqtt(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
    return client;
  } catch (error) {
    await client.endAsync(true).catch(() => undefined);
    throw error;
  }
}

/** The CONNACK refusal code of a connection attempt, or 'connected'. */
export async function connackOutcome(url: string, options: IClientOptions): Promise<number | string> {
  try {
    const client = await connectMqtt(url, options);
    await client.endAsync();
    return 'connected';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' || typeof code === 'string' ? code : String(error);
  }
}

/** Every message a client receives, in order, and a way to wait for one. */
export class Inbox {
  readonly messages: Array<{ topic: string; payload: string }> = [];
  private waiters: Array<() => void> = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, payload: payload.toString() });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  topics(): string[] {
    return this.messages.map((message) => message.topic);
  }

  /** Resolves once a message with this payload arrived; rejects after timeoutMs saying what did arrive. */
  async waitForPayload(payload: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.messages.some((message) => message.payload === payload)) {
      if (Date.now() > deadline) throw new Error(`no message "${payload}"; received ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/**
 * The secured Mosquitto: the broker a provisioning (mqttProvisioning.ts) configured, run with
 * infra/'s managed-process life cycle (pid file and log in infra/.cache/run, refuse a port someone
 * else holds, wait until it answers, SIGTERM then SIGKILL). It runs beside the project's open
 * Mosquitto on :1884 (default :1885, TLS :8885), so load tests and the secured set-up don't meet.
 *
 * "Answers" means: a CONNECT without credentials gets CONNACK "not authorized". A broker that
 * lets an anonymous client in is reported as not ready: whatever it is, it is not secured.
 */
import fs from 'node:fs';
import mqtt from 'mqtt';
import { SluiceError, errorMessage } from '../core/errors';
import type { ManagedProcessSpec } from '../infra/managedProcess';
import { downManagedProcess, statusManagedProcess, upManagedProcess } from '../infra/managedProcess';
import { INFRA_DEFAULTS } from '../infra/options';
import { DEFAULT_CACHE_DIR, infraPaths } from '../infra/paths';
import { LOOPBACK } from '../infra/ports';
import type { ProbeResult } from '../infra/probes';
import { findExecutable, isOurProcess, readPidRecord } from '../infra/processControl';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from '../infra/serviceReport';
import { readProvisionManifest } from './mqttProvisioning';

export interface SecuredMosquittoOptions {
  /** the directory `sluice devices provision --out` wrote */
  provisionDir: string;
  cacheDir?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** MQTT 5 CONNACK 0x87 Not authorized; MQTT 3.1.1 return code 5 */
const NOT_AUTHORIZED = new Set([0x87, 5]);

/** Ready when the broker answers an anonymous CONNECT with "not authorized". */
export async function probeRefusesAnonymous(url: string, timeoutMs = 3000): Promise<ProbeResult> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: timeoutMs, clientId: `sluice-secure-probe-${process.pid}-${Date.now()}` });
  try {
    return await new Promise<ProbeResult>((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, detail: `no CONNACK within ${timeoutMs} ms` }), timeoutMs);
      const settle = (result: ProbeResult): void => {
        clearTimeout(timer);
        resolve(result);
      };
      client.once('connect', () => settle({ ok: false, detail: 'accepts anonymous clients: not a secured broker' }));
      client.once('error', (error) => {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number' && NOT_AUTHORIZED.has(code)) settle({ ok: true, detail: 'refuses anonymous clients' });
        else settle({ ok: false, detail: errorMessage(error) || String(code ?? 'connection failed') });
      });
      client.once('close', () => settle({ ok: false, detail: 'connection closed before CONNACK' }));
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

export function securedMosquittoSpec(options: SecuredMosquittoOptions): ManagedProcessSpec {
  const { manifest, brokerConfig } = readProvisionManifest(options.provisionDir);
  const { runDir } = infraPaths(options.cacheDir ?? DEFAULT_CACHE_DIR);
  const url = `mqtt://${LOOPBACK}:${manifest.port}`;
  const ports = [{ port: manifest.port, purpose: 'secured Mosquitto' }];
  if (manifest.tlsPort !== null) ports.push({ port: manifest.tlsPort, purpose: 'secured Mosquitto, TLS' });
  return {
    service: 'mosquitto',
    instance: `mosquitto-secure-${manifest.port}`,
    address: manifest.tlsPort === null ? url : `${url}, mqtts://localhost:${manifest.tlsPort}`,
    ports,
    runDir,
    startTimeoutMs: options.startTimeoutMs ?? INFRA_DEFAULTS.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs ?? INFRA_DEFAULTS.stopTimeoutMs,
    howToStart: `node bin/sluice.js devices broker up --dir ${options.provisionDir}`,
    probe: () => probeRefusesAnonymous(url, 2000),
    prepare() {
      const mosquitto = findExecutable('mosquitto');
      if (mosquitto === undefined) {
        throw new SluiceError('SERVICE_UNAVAILABLE', 'mosquitto is not installed; install it (Debian: apt-get install mosquitto)', { retriable: false });
      }
      if (!fs.existsSync(brokerConfig)) throw new SluiceError('CONFIG_INVALID', `${brokerConfig} is missing: provision again`);
      return Promise.resolve({
        command: { command: mosquitto, args: ['-c', brokerConfig] },
        marker: brokerConfig,
        details: { version: 'Mosquitto (secured: passwords + ACL)', devices: `${manifest.devices} device(s)` },
      });
    },
  };
}

export function upSecuredMosquitto(options: SecuredMosquittoOptions, onProgress?: ProgressListener): Promise<ServiceUpResult> {
  return upManagedProcess(securedMosquittoSpec(options), onProgress);
}

export function downSecuredMosquitto(options: SecuredMosquittoOptions): Promise<ServiceDownResult> {
  return downManagedProcess(securedMosquittoSpec(options));
}

export function statusSecuredMosquitto(options: SecuredMosquittoOptions): Promise<ServiceStatus> {
  return statusManagedProcess(securedMosquittoSpec(options));
}

/**
 * Makes the running broker re-read its password file and ACL (SIGHUP), so a new provisioning
 * takes effect without dropping connections. False when this provisioning's broker is not running.
 */
export function reloadSecuredMosquitto(options: SecuredMosquittoOptions): boolean {
  const spec = securedMosquittoSpec(options);
  const record = readPidRecord(spec.runDir, spec.instance);
  if (record === undefined || !isOurProcess(record)) return false;
  process.kill(record.pid, 'SIGHUP');
  return true;
}

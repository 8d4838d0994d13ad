import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors';
import type { ManagedProcessSpec } from '../managedProcess';
import { downManagedProcess, statusManagedProcess, upManagedProcess } from '../managedProcess';
import type { InfraOptions } from '../options';
import { infraPaths } from '../paths';
import { LOOPBACK } from '../ports';
import { probeMqtt } from '../probes';
import { findExecutable } from '../processControl';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from '../serviceReport';
import { brokerFileOwner, giveTo } from './brokerFileOwner';

/**
 * The project's own Mosquitto (default 127.0.0.1:1884) with the limits of
 * infra/mosquitto/mosquitto.conf, so MQTT load results don't depend on the machine's broker.
 */
export const MOSQUITTO_CONF = path.join(__dirname, 'mosquitto.conf');
const LISTENER_LINE = /^listener\s+\d+\s+127\.0\.0\.1\s*$/m;

export type MosquittoServerOptions = Pick<InfraOptions, 'mosquittoPort' | 'cacheDir' | 'startTimeoutMs' | 'stopTimeoutMs'> & {
  /**
   * Keep sessions and queued messages in this directory across restarts. Mosquitto writes them on a
   * clean shutdown (SIGTERM) and every autosave interval, not per message: a broker that crashes
   * loses what it acknowledged since its last save (MQTT brokers acknowledge on receipt).
   */
  persistenceDir?: string;
};

const PERSISTENCE_LINES = /^persistence false\s*\nautosave_interval 0\s*$/m;

/** The shipped config with its listener moved to `port` (and persistence on, in `persistenceDir`). */
export function mosquittoConfigForPort(port: number, persistenceDir?: string): string {
  const template = fs.readFileSync(MOSQUITTO_CONF, 'utf8');
  if (!LISTENER_LINE.test(template)) throw new SluiceError('CONFIG_INVALID', `${MOSQUITTO_CONF} has no "listener <port> 127.0.0.1" line`);
  const config = template.replace(LISTENER_LINE, `listener ${port} ${LOOPBACK}`);
  if (persistenceDir === undefined) return config;
  if (!PERSISTENCE_LINES.test(config)) throw new SluiceError('CONFIG_INVALID', `${MOSQUITTO_CONF} has no "persistence false / autosave_interval 0" lines to replace`);
  return config.replace(PERSISTENCE_LINES, `persistence true\npersistence_location ${persistenceDir.replace(/\/*$/, '/')}\nautosave_interval 1`);
}

export function mosquittoSpec(options: MosquittoServerOptions): ManagedProcessSpec {
  const port = options.mosquittoPort;
  const { runDir } = infraPaths(options.cacheDir);
  const instance = `mosquitto-${port}`;
  const configFile = path.join(runDir, `${instance}.conf`);
  const url = `mqtt://${LOOPBACK}:${port}`;
  return {
    service: 'mosquitto',
    instance,
    address: url,
    ports: [{ port, purpose: 'project Mosquitto' }],
    runDir,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    howToStart: `npm run infra:up (or: node bin/sluice.js infra up --only mosquitto${port === 1884 ? '' : ` --mosquitto-port ${port}`})`,
    probe: () => probeMqtt(url, 2000),
    prepare() {
      const mosquitto = findExecutable('mosquitto');
      if (mosquitto === undefined) {
        throw new SluiceError('SERVICE_UNAVAILABLE', 'mosquitto is not installed; install it (Debian: apt-get install mosquitto)', { retriable: false });
      }
      fs.mkdirSync(runDir, { recursive: true });
      if (options.persistenceDir !== undefined) {
        fs.mkdirSync(options.persistenceDir, { recursive: true });
        // started as root, Mosquitto drops to its own user: without this it cannot write its
        // persistence file ("Permission denied" every autosave) and a restart forgets every session
        const owner = brokerFileOwner();
        giveTo(owner, options.persistenceDir);
        if (owner !== undefined) assertTraversable(options.persistenceDir);
      }
      fs.writeFileSync(configFile, mosquittoConfigForPort(port, options.persistenceDir));
      return Promise.resolve({ command: { command: mosquitto, args: ['-c', configFile] }, marker: configFile, details: { version: 'Mosquitto (project config)' } });
    },
  };
}

export function upMosquitto(options: MosquittoServerOptions, onProgress?: ProgressListener): Promise<ServiceUpResult> {
  return upManagedProcess(mosquittoSpec(options), onProgress);
}

export function downMosquitto(options: MosquittoServerOptions): Promise<ServiceDownResult> {
  return downManagedProcess(mosquittoSpec(options));
}

export function statusMosquitto(options: MosquittoServerOptions): Promise<ServiceStatus> {
  return statusManagedProcess(mosquittoSpec(options));
}

/** Mosquitto, once it dropped to its own user, must be able to walk down to its persistence dir. */
function assertTraversable(dir: string): void {
  for (let parent = path.dirname(path.resolve(dir)); ; parent = path.dirname(parent)) {
    if ((fs.statSync(parent).mode & 0o001) === 0) {
      throw new SluiceError('CONFIG_INVALID', `Mosquitto runs as the "mosquitto" user and cannot reach its persistence directory ${dir}: ${parent} is not searchable by other users (chmod o+x it, or choose another directory)`, { retriable: false });
    }
    if (parent === path.dirname(parent)) return;
  }
}

import path from 'node:path';
import { SluiceError } from '../core/errors';
import { sleep } from '../core/retry';
import type { ServiceName } from './options';
import { displayPath } from './paths';
import { findTakenPort, portInUseError } from './ports';
import type { ProbeResult } from './probes';
import type { DetachedCommand, PidRecord } from './processControl';
import { isOurProcess, isProcessAlive, logTail, readPidRecord, removePidRecord, spawnDetached, stopProcess, writePidRecord } from './processControl';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from './serviceReport';

/**
 * The life cycle every server sluice starts itself shares (Kafka, kinesalite, the project's
 * Mosquitto): find our running instance by pid file, refuse a port someone else holds, prepare
 * files, start detached, wait until the protocol answers, stop with SIGTERM then SIGKILL.
 */
export interface ManagedProcessSpec {
  service: ServiceName;
  /** names the pid file and log: `kafka-9092` */
  instance: string;
  /** where clients connect: `127.0.0.1:9092` */
  address: string;
  ports: ReadonlyArray<{ port: number; purpose: string }>;
  runDir: string;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  howToStart: string;
  /** writes config files, fetches jars...; returns what to run. Timed phases go in `phases`. */
  prepare(context: PrepareContext): Promise<PreparedProcess>;
  probe(): Promise<ProbeResult>;
}

export interface PrepareContext {
  logFile: string;
  onProgress: ProgressListener;
  phases: Record<string, number>;
}

export interface PreparedProcess {
  command: Omit<DetachedCommand, 'logFile'>;
  /** a string on the process's command line that identifies this instance */
  marker: string;
  details: Record<string, string>;
}

const POLL_INTERVAL_MS = 200;

export function logFileOf(spec: Pick<ManagedProcessSpec, 'runDir' | 'instance'>): string {
  return path.join(spec.runDir, `${spec.instance}.log`);
}

/** Starts the process unless our instance already runs. Throws a SluiceError when it cannot. */
export async function upManagedProcess(spec: ManagedProcessSpec, onProgress: ProgressListener = () => undefined): Promise<ServiceUpResult> {
  const began = Date.now();
  const phases: Record<string, number> = {};
  const existing = readPidRecord(spec.runDir, spec.instance);
  if (existing !== undefined) {
    if (isOurProcess(existing)) {
      // ours: maybe still starting (an earlier `up` was interrupted), so wait rather than probe once
      const probe = await waitUntilReady(spec, existing.pid, Date.now() + spec.startTimeoutMs);
      return {
        service: spec.service,
        address: spec.address,
        action: 'already-running',
        pid: existing.pid,
        detail: describe(existing, probe.detail),
        durationMs: Date.now() - began,
        phases,
      };
    }
    removePidRecord(spec.runDir, spec.instance); // stale: the process is gone or the pid was reused
  }

  const taken = await findTakenPort(spec.ports);
  if (taken !== undefined) {
    // Someone else's server of the same kind (a developer's own Kafka) is not ours to manage
    // or stop either, but the message can say what it is and what to do instead.
    const probe = await spec.probe();
    throw portInUseError(
      spec.service,
      taken,
      probe.ok
        ? `it answers as ${spec.service} (${probe.detail}) but sluice did not start it: stop it, point the tests at it ` +
            '(SLUICE_* variables, test/support/servers.ts), or choose another port'
        : undefined,
    );
  }
  const logFile = logFileOf(spec);
  const prepared = await spec.prepare({ logFile, onProgress, phases });
  const spawnedAt = Date.now();
  const pid = await spawnDetached({ ...prepared.command, logFile });
  const record: PidRecord = {
    pid,
    marker: prepared.marker,
    ports: spec.ports.map(({ port }) => port),
    logFile,
    startedAt: new Date(spawnedAt).toISOString(),
    details: prepared.details,
  };
  writePidRecord(spec.runDir, spec.instance, record);
  try {
    const probe = await waitUntilReady(spec, pid, spawnedAt + spec.startTimeoutMs);
    phases.start = Date.now() - spawnedAt;
    return { service: spec.service, address: spec.address, action: 'started', pid, detail: describe(record, probe.detail), durationMs: Date.now() - began, phases };
  } catch (error) {
    // never leave a half-started server behind us: it would hold the port and confuse the next `up`
    await stopProcess(pid, spec.stopTimeoutMs).catch(() => undefined);
    removePidRecord(spec.runDir, spec.instance);
    throw error;
  }
}

async function waitUntilReady(spec: ManagedProcessSpec, pid: number, deadline: number): Promise<ProbeResult> {
  let last: ProbeResult = { ok: false, detail: 'not probed yet' };
  for (;;) {
    if (!isProcessAlive(pid)) {
      const tail = logTail(logFileOf(spec));
      throw new SluiceError(
        'SERVICE_UNAVAILABLE',
        `${spec.service} (pid ${pid}) exited during start-up; log ${displayPath(logFileOf(spec))}${tail === '' ? '' : `:\n${tail}`}`,
        { retriable: false },
      );
    }
    last = await spec.probe();
    if (last.ok) return last;
    if (Date.now() >= deadline) {
      throw new SluiceError(
        'TIMEOUT',
        `${spec.service} (pid ${pid}) did not answer at ${spec.address} within ${spec.startTimeoutMs} ms (last probe: ${last.detail}); ` +
          `log ${displayPath(logFileOf(spec))}`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

export async function downManagedProcess(spec: ManagedProcessSpec): Promise<ServiceDownResult> {
  const record = readPidRecord(spec.runDir, spec.instance);
  const base = { service: spec.service, address: spec.address };
  if (record === undefined) return { ...base, action: 'not-running', detail: 'not started by sluice' };
  if (!isOurProcess(record)) {
    removePidRecord(spec.runDir, spec.instance);
    return { ...base, action: 'not-running', detail: `pid ${record.pid} had already exited` };
  }
  const outcome = await stopProcess(record.pid, spec.stopTimeoutMs);
  removePidRecord(spec.runDir, spec.instance);
  if (outcome === 'killed') {
    return { ...base, action: 'killed', detail: `pid ${record.pid} ignored SIGTERM for ${spec.stopTimeoutMs} ms and was killed` };
  }
  return { ...base, action: outcome === 'terminated' ? 'stopped' : 'not-running', detail: `pid ${record.pid}` };
}

export async function statusManagedProcess(spec: ManagedProcessSpec): Promise<ServiceStatus> {
  const record = readPidRecord(spec.runDir, spec.instance);
  const ours = record !== undefined && isOurProcess(record) ? record : undefined;
  const probe = await spec.probe();
  const base = { service: spec.service, address: spec.address };
  if (ours !== undefined) {
    return probe.ok
      ? { ...base, running: true, owner: 'sluice', pid: ours.pid, detail: describe(ours, probe.detail) }
      : { ...base, running: false, owner: 'sluice', pid: ours.pid, detail: `pid ${ours.pid} runs but does not answer: ${probe.detail}`, howToStart: spec.howToStart };
  }
  if (probe.ok) return { ...base, running: true, owner: 'other', detail: `answers, but was not started by sluice: ${probe.detail}` };
  return { ...base, running: false, owner: 'none', detail: probe.detail, howToStart: spec.howToStart };
}

function describe(record: PidRecord, probeDetail: string): string {
  const facts = Object.values(record.details);
  return [...facts, probeDetail].filter((part) => part !== '').join(', ');
}

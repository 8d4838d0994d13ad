import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors';
import { sleep } from '../core/retry';

/**
 * Detached processes and their pid files. `infra up` starts a server detached (its own session,
 * output to a log file) so the CLI can return while the server keeps running; the pid file is
 * how a later `infra up|down|status` finds it again.
 */
export interface PidRecord {
  pid: number;
  /** a string the process's command line must contain for the pid to still be ours (pids get reused) */
  marker: string;
  ports: number[];
  logFile: string;
  startedAt: string;
  /** free-form facts for status: `{ version: '4.2.0' }` */
  details: Record<string, string>;
}

export function pidFilePath(runDir: string, name: string): string {
  return path.join(runDir, `${name}.pid.json`);
}

export function writePidRecord(runDir: string, name: string, record: PidRecord): void {
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(pidFilePath(runDir, name), `${JSON.stringify(record, null, 2)}\n`);
}

export function readPidRecord(runDir: string, name: string): PidRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFilePath(runDir, name), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as Partial<PidRecord>;
    if (typeof record.pid !== 'number' || typeof record.marker !== 'string') return undefined;
    return { ports: [], logFile: '', startedAt: '', details: {}, ...record } as PidRecord;
  } catch {
    return undefined; // a torn or hand-edited file: treat as absent, the next `up` rewrites it
  }
}

export function removePidRecord(runDir: string, name: string): void {
  fs.rmSync(pidFilePath(runDir, name), { force: true });
}

/** The process's command line (Linux /proc), or undefined where it cannot be read. */
export function processCommandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent, e.g. a test process) answers kill(0) but is gone.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

/** Alive and still the process we started (same marker on its command line where we can see it). */
export function isOurProcess(record: PidRecord): boolean {
  if (!isProcessAlive(record.pid)) return false;
  const commandLine = processCommandLine(record.pid);
  return commandLine === undefined || commandLine.includes(record.marker);
}

export interface DetachedCommand {
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a process in its own session with stdout/stderr appended to logFile; returns its pid. */
export async function spawnDetached(spec: DetachedCommand): Promise<number> {
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const logFd = fs.openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    // spawn reports a missing binary asynchronously, as an 'error' event
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }).catch((error: unknown) => {
      throw new SluiceError('SERVICE_UNAVAILABLE', `cannot start ${spec.command}: ${(error as Error).message}`, { cause: error, retriable: false });
    });
    child.unref();
    if (child.pid === undefined) throw new SluiceError('SERVICE_UNAVAILABLE', `cannot start ${spec.command}: no pid`, { retriable: false });
    return child.pid;
  } finally {
    fs.closeSync(logFd);
  }
}

export type StopOutcome = 'terminated' | 'killed' | 'not-running';

/** SIGTERM, wait up to timeoutMs for a clean exit, then SIGKILL. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<StopOutcome> {
  if (!isProcessAlive(pid)) return 'not-running';
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return 'terminated';
  signal(pid, 'SIGKILL');
  if (await waitForExit(pid, 10_000)) return 'killed';
  throw new SluiceError('TIMEOUT', `process ${pid} is still alive after SIGKILL`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await sleep(100);
  }
  return !isProcessAlive(pid);
}

/**
 * The full path of an executable on PATH, or undefined. Also looks in the sbin directories,
 * where Debian puts mosquitto and which a non-root PATH often lacks.
 */
export function findExecutable(name: string): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const directory of directories) {
    if (directory === '') continue;
    const candidate = path.join(directory, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The last lines of a log file, for error messages about a server that died on start. */
export function logTail(logFile: string, lines = 20): string {
  try {
    const text = fs.readFileSync(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

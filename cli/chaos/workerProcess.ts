/**
 * One pipeline worker as its own OS process (`sluice ingest` or `sluice run`), as compose or
 * Kubernetes would run it: it can be SIGKILLed at any moment and started again, and a worker that
 * dies on its own is noticed and counted (then started again, as a supervisor would).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors';

export interface WorkerSpec {
  /** short name in reports: ingest, transform, aggregate, ... */
  name: string;
  /** arguments after `bin/sluice.js` */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** printed on stderr once the worker is ready */
  readyLine: RegExp;
  metricsPort: number;
}

export interface UnexpectedExit {
  worker: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

const READY_TIMEOUT_MS = 90_000;

export class WorkerProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  /** stop() was called: nothing starts it again */
  private retired = false;
  private stderrTail: string[] = [];
  private readonly log: fs.WriteStream;
  starts = 0;

  constructor(readonly spec: WorkerSpec, private readonly projectRoot: string, logDir: string, private readonly onUnexpectedExit: (exit: UnexpectedExit) => void) {
    fs.mkdirSync(logDir, { recursive: true });
    this.log = fs.createWriteStream(path.join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once it printed its ready line. */
  async start(): Promise<void> {
    if (this.retired) throw new SluiceError('OPERATION_INVALID', `${this.spec.name} was stopped`);
    this.stopping = false;
    this.stderrTail = [];
    this.starts += 1;
    const child = spawn(process.execPath, [path.join(this.projectRoot, 'bin/sluice.js'), ...this.spec.args], {
      cwd: this.projectRoot,
      env: this.spec.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    let ready = false;
    const readyOrExit = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SluiceError('TIMEOUT', `${this.spec.name}: not ready after ${READY_TIMEOUT_MS} ms:\n${this.stderrTail.join('')}`)), READY_TIMEOUT_MS);
      child.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.log.write(text);
        this.stderrTail.push(text);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        if (!ready && this.spec.readyLine.test(this.stderrTail.join(''))) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new SluiceError('SERVICE_UNAVAILABLE', `${this.spec.name} exited before it was ready (code ${String(code)}, signal ${String(signal)}):\n${this.stderrTail.join('')}`));
      });
    });
    child.once('exit', (code, signal) => {
      this.log.write(`--- exited: code ${String(code)} signal ${String(signal)}\n`);
      if (this.child !== child || this.stopping || !ready) return;
      this.onUnexpectedExit({ worker: this.spec.name, at: Date.now(), code, signal, stderrTail: this.stderrTail.join('').slice(-2000) });
      // a supervisor starts it again, as Kubernetes would
      void this.startUntilReady().catch(() => undefined);
    });
    await readyOrExit;
  }

  /**
   * Starts it, and starts it again with a growing pause while it exits before it is ready (a
   * worker refuses to start while a server it needs is down), as Kubernetes' CrashLoopBackOff.
   */
  async startUntilReady(deadlineMs = 180_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.start();
        return;
      } catch (error) {
        if (this.retired || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
  }

  /** SIGKILL: no drain, no checkpoint, no goodbye. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** SIGTERM and wait for the drain (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    this.stopping = true;
    this.retired = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    this.log.end();
  }

  /** Resident memory in bytes, from /proc (undefined when not running or not on Linux). */
  rssBytes(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}

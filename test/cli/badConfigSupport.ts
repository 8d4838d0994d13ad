/**
 * Runs the real CLI (node bin/sluice.js) as a user does, many at once, and checks the shape
 * of a refusal: one error line naming the problem (plus at most a hint line), no stack trace,
 * nothing on stdout, a non-zero exit of its own (not a kill after hanging).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SLUICE = path.join(__dirname, '../../bin/sluice.js');

/** CLI processes at once: enough to keep both cores busy, few enough that none starves. */
const PARALLEL = 6;
/**
 * A refusal takes about a second of CPU (mostly loading the CLI); a run still going after this
 * did not refuse at all. Generous: on a machine busy with other suites a start can take 15 s.
 */
const RUN_TIMEOUT_MS = 60_000;

export interface CliRun {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** `comm` of every process the CLI started (seen while it ran or left after it), tsx's esbuild service aside */
  children: string[];
}

let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/**
 * Children inherit the environment, so a process carrying this run's marker variable is one
 * the CLI started (directly or through setpriv). tsx runs esbuild as a service to compile
 * TypeScript that is not in its cache yet: that one is the CLI's loader, not its doing.
 */
function processesWithMarker(marker: string, except: number | undefined, seen: Set<string>): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === except) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm !== 'esbuild') seen.add(`${comm} (pid ${entry})`);
    } catch {
      // the process ended between listing and reading
    }
  }
}

export function runSluice(args: string[], options: { cwd: string; watchChildren?: boolean }): Promise<CliRun> {
  return slot(
    () =>
      new Promise<CliRun>((resolve) => {
        const marker = `SLUICE_BAD_CONFIG_RUN=${process.pid}-${Math.random().toString(36).slice(2)}`;
        const env: NodeJS.ProcessEnv = { ...process.env, [marker.split('=')[0] ?? '']: marker.split('=')[1] };
        // anything that would add output of its own (mqtt.js debug) or pick a registry for us
        delete env.DEBUG;
        delete env.SLUICE_SCHEMA_REGISTRY;
        const child = spawn(process.execPath, [SLUICE, ...args], { cwd: options.cwd, env });
        let stdout = '';
        let stderr = '';
        const children = new Set<string>();
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const watcher = options.watchChildren ? setInterval(() => processesWithMarker(marker, child.pid, children), 20) : undefined;
        const timeout = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
        child.on('exit', (code, signal) => {
          clearTimeout(timeout);
          if (watcher) {
            clearInterval(watcher);
            processesWithMarker(marker, child.pid, children);
          }
          resolve({ args, code, signal, stdout, stderr, children: [...children] });
        });
      }),
  );
}

/**
 * The problems with a refusal, empty when it is right: exit `exitCode` (1 or 2) by itself,
 * stderr one `sluice: ...` line that contains every `named` text (plus at most one hint line),
 * no stack trace, nothing on stdout.
 */
export function refusalProblems(run: CliRun, exitCode: 1 | 2, named: ReadonlyArray<string | RegExp>): string[] {
  const problems: string[] = [];
  if (run.signal !== null) problems.push(`did not exit by itself within ${RUN_TIMEOUT_MS} ms (killed)`);
  else if (run.code !== exitCode) problems.push(`exit code ${String(run.code)}, expected ${exitCode}`);
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
  const [first = '', second] = lines;
  if (lines.length < 1 || lines.length > 2) problems.push(`${lines.length} lines on stderr, expected the error and at most a hint`);
  if (!first.startsWith('sluice: ')) problems.push('the first line is not "sluice: ..."');
  if (second !== undefined && !/^(hint: |\(run with --help for usage\)$)/.test(second)) problems.push('the second line is not a hint');
  if (/^\s+at /m.test(run.stderr)) problems.push('a stack trace');
  if (run.stdout !== '') problems.push('output on stdout');
  for (const name of named) {
    const found = typeof name === 'string' ? first.includes(name) : name.test(first);
    if (!found) problems.push(`the error does not name ${String(name)}`);
  }
  return problems;
}

/** Fails listing every case whose refusal is wrong, with what it printed. */
export function expectRefusals(results: ReadonlyArray<{ label: string; run: CliRun; problems: string[] }>): void {
  const wrong = results.filter((result) => result.problems.length > 0);
  const report = wrong.map(({ label, run, problems }) => `${label}: ${problems.join('; ')}\n  $ sluice ${run.args.join(' ')}\n  stderr: ${run.stderr.trim().split('\n').join('\n          ')}\n  stdout: ${run.stdout.trim().slice(0, 300)}`);
  expect(report).toEqual([]);
}

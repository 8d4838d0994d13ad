import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { SluiceError } from '../../core/errors';
import { DEFAULT_CACHE_DIR, displayPath } from '../paths';
import { findExecutable } from '../processControl';
import type { ProgressListener } from '../serviceReport';

/**
 * Apache Kafka's jars, resolved from Maven Central by infra/kafka/pom.xml into
 * infra/.cache/kafka/<version>/lib. The first run downloads (~90 jars, ~60 MB, or copies them
 * from ~/.m2); every later run finds the lib dir complete and skips Maven entirely, so the
 * second start is offline and fast.
 */
export const KAFKA_POM = path.join(__dirname, 'pom.xml');
export const KAFKA_LOG4J2_CONFIG = path.join(__dirname, 'log4j2.properties');

/** The marker written after a complete copy; a lib dir without it (an interrupted copy) is redone. */
const COMPLETE_MARKER = '.sluice-complete.json';

interface CompleteMarker {
  fingerprint: string;
  jars: string[];
}

export interface KafkaJars {
  version: string;
  libDir: string;
  /** for `java -cp`: java expands the `*` itself */
  classpath: string;
  /** true when this call ran Maven */
  resolvedNow: boolean;
  durationMs: number;
}

/** The Kafka version infra/kafka/pom.xml names: the one place it is chosen. */
export function defaultKafkaVersion(): string {
  const pom = fs.readFileSync(KAFKA_POM, 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]?.trim();
  if (version === undefined) throw new SluiceError('CONFIG_INVALID', `${KAFKA_POM} has no <kafka.version> property`);
  return version;
}

export function kafkaLibDir(version: string, cacheDir: string = DEFAULT_CACHE_DIR): string {
  return path.join(cacheDir, 'kafka', version, 'lib');
}

export async function ensureKafkaJars(
  options: { version?: string; cacheDir?: string; onProgress?: ProgressListener } = {},
): Promise<KafkaJars> {
  const began = Date.now();
  const version = options.version ?? defaultKafkaVersion();
  const libDir = kafkaLibDir(version, options.cacheDir);
  const onProgress = options.onProgress ?? (() => undefined);
  const fingerprint = createHash('sha256').update(fs.readFileSync(KAFKA_POM)).update(`\0${version}`).digest('hex');
  const result = (resolvedNow: boolean): KafkaJars => ({ version, libDir, classpath: path.join(libDir, '*'), resolvedNow, durationMs: Date.now() - began });
  if (isComplete(libDir, fingerprint)) return result(false);

  const mvn = findExecutable('mvn');
  if (mvn === undefined) {
    throw new SluiceError(
      'SERVICE_UNAVAILABLE',
      `Maven (mvn) is needed once, to fetch Kafka ${version}'s jars into ${displayPath(libDir)}; install it (Debian: apt-get install maven)`,
      { retriable: false },
    );
  }
  // Copy into a private directory, then rename: an interrupted or concurrent run never leaves
  // a half-filled lib dir that looks complete.
  const stagingDir = `${libDir}.tmp-${process.pid}`;
  fs.rmSync(stagingDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(libDir), { recursive: true });
  const mavenArgs = ['-B', '-f', KAFKA_POM, `-Dkafka.version=${version}`, `-DoutputDirectory=${stagingDir}`, 'dependency:copy-dependencies'];
  try {
    // Offline first: when ~/.m2 already holds everything this takes seconds and needs no network.
    onProgress(`maven: resolving Kafka ${version} jars into ${displayPath(libDir)} (first start only)`);
    const offline = await runMaven(mvn, ['-o', '-q', ...mavenArgs], () => undefined);
    if (offline.exitCode !== 0) {
      onProgress('maven: not all in ~/.m2 yet, downloading from Maven Central');
      fs.rmSync(stagingDir, { recursive: true, force: true });
      const online = await runMaven(mvn, mavenArgs, onProgress);
      if (online.exitCode !== 0) {
        throw new SluiceError(
          'SERVICE_UNAVAILABLE',
          `Maven could not resolve Kafka ${version} (exit ${online.exitCode}); its last output:\n${online.tail.join('\n')}`,
        );
      }
    }
    const jars = fs.readdirSync(stagingDir).filter((name) => name.endsWith('.jar')).sort();
    if (!jars.some((name) => name.startsWith(`kafka_2.13-${version}`))) {
      throw new SluiceError('SERVICE_UNAVAILABLE', `Maven finished but ${displayPath(stagingDir)} holds no kafka_2.13-${version}.jar`);
    }
    const marker: CompleteMarker = { fingerprint, jars };
    fs.writeFileSync(path.join(stagingDir, COMPLETE_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    fs.rmSync(libDir, { recursive: true, force: true });
    fs.renameSync(stagingDir, libDir);
  } catch (error) {
    fs.rmSync(stagingDir, { recursive: true, force: true });
    if (isComplete(libDir, fingerprint)) return result(false); // another process finished first
    throw error;
  }
  const resolved = result(true);
  onProgress(`maven: ${fs.readdirSync(libDir).length - 1} jars in ${displayPath(libDir)} after ${(resolved.durationMs / 1000).toFixed(1)} s`);
  return resolved;
}

function isComplete(libDir: string, fingerprint: string): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(libDir, COMPLETE_MARKER), 'utf8')) as CompleteMarker;
    return marker.fingerprint === fingerprint && marker.jars.length > 0 && marker.jars.every((jar) => fs.existsSync(path.join(libDir, jar)));
  } catch {
    return false;
  }
}

/**
 * Runs Maven and turns its per-file download log (hundreds of lines) into a progress line every
 * few seconds: visible on a slow first run, quiet otherwise.
 */
async function runMaven(mvn: string, args: string[], onProgress: ProgressListener): Promise<{ exitCode: number; tail: string[] }> {
  const child = spawn(mvn, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let files = 0;
  let bytes = 0;
  let lastReport = Date.now();
  const onLine = (raw: string): void => {
    // Maven 3.8 leaves colour codes even in batch mode
    // eslint-disable-next-line no-control-regex -- matching the ESC of ANSI colour codes is the point
    const line = raw.replace(/\u001b\[[0-9;]*m/g, '');
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const downloaded = /^\[INFO\] Downloaded from [^:]+: \S+ \(([\d.]+) (B|kB|MB)/.exec(line);
    if (downloaded?.[1] !== undefined) {
      files += 1;
      bytes += Number(downloaded[1]) * (downloaded[2] === 'MB' ? 1e6 : downloaded[2] === 'kB' ? 1e3 : 1);
      if (Date.now() - lastReport >= 3000) {
        lastReport = Date.now();
        onProgress(`maven: ${files} files downloaded (${(bytes / 1e6).toFixed(1)} MB) so far`);
      }
    }
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  if (files > 0) onProgress(`maven: ${files} files downloaded (${(bytes / 1e6).toFixed(1)} MB)`);
  return { exitCode, tail };
}

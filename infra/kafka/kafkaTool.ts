import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors';
import { findExecutable } from '../processControl';
import type { KafkaJars } from './kafkaJars';
import { ensureKafkaJars, KAFKA_LOG4J2_CONFIG } from './kafkaJars';

/**
 * Runs Kafka's own Java tools (StorageTool, ConsoleConsumer, ConsoleProducer, TopicCommand...)
 * from the same jars as the broker. Tests use this to prove that a standard Kafka client reads
 * what our adapter wrote; infra uses it to format the KRaft storage.
 */
export function consoleConsumerClass(version: string): string {
  // moved from the core (Scala) jar to kafka-tools in 3.7
  return isAtLeast(version, 3, 7) ? 'org.apache.kafka.tools.consumer.ConsoleConsumer' : 'kafka.tools.ConsoleConsumer';
}

export function consoleProducerClass(version: string): string {
  return isAtLeast(version, 4, 0) ? 'org.apache.kafka.tools.ConsoleProducer' : 'kafka.tools.ConsoleProducer';
}

export const STORAGE_TOOL_CLASS = 'kafka.tools.StorageTool';
export const TOPIC_COMMAND_CLASS = 'org.apache.kafka.tools.TopicCommand';

function isAtLeast(version: string, major: number, minor: number): boolean {
  const [versionMajor = 0, versionMinor = 0] = version.split('.').map(Number);
  return versionMajor > major || (versionMajor === major && versionMinor >= minor);
}

/** JAVA_HOME's java, else the one on PATH. */
export function javaExecutable(): string {
  const javaHome = process.env.JAVA_HOME;
  const fromHome = javaHome === undefined || javaHome === '' ? undefined : path.join(javaHome, 'bin', 'java');
  const java = fromHome !== undefined && fs.existsSync(fromHome) ? fromHome : findExecutable('java');
  if (java === undefined) {
    throw new SluiceError('SERVICE_UNAVAILABLE', 'Java 17+ is needed to run Kafka; install it (Debian: apt-get install openjdk-17-jre-headless)', {
      retriable: false,
    });
  }
  return java;
}

/** JVM arguments shared by the broker and the tools: heap, quiet log4j2 config, classpath. */
export function kafkaJvmArgs(jars: KafkaJars, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${KAFKA_LOG4J2_CONFIG}`,
    '-cp',
    jars.classpath,
  ];
}

export interface KafkaToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface KafkaToolOptions {
  version?: string;
  cacheDir?: string;
  /** the tool is killed after this long (a console consumer with no --max-messages runs forever) */
  timeoutMs?: number;
  /** written to the tool's stdin, which is then closed (ConsoleProducer reads records from it) */
  stdin?: string;
}

/** Runs `java -cp 'lib/*' <mainClass> <args>` and collects its output. Resolves on any exit code. */
export async function runKafkaTool(mainClass: string, args: readonly string[], options: KafkaToolOptions = {}): Promise<KafkaToolResult> {
  const jars = await ensureKafkaJars({ version: options.version, cacheDir: options.cacheDir });
  const timeoutMs = options.timeoutMs ?? 60_000;
  // C1 only: these tools run for seconds, so a fast JVM start beats peak throughput
  const child = spawn(javaExecutable(), [...kafkaJvmArgs(jars, '256m'), '-XX:TieredStopAtLevel=1', mainClass, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => undefined); // a tool that exits without reading stdin
  child.stdin.end(options.stdin ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  }).finally(() => clearTimeout(timer));
  const result = { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  if (timedOut) {
    throw new SluiceError('TIMEOUT', `${mainClass} did not finish within ${timeoutMs} ms; stderr:\n${result.stderr.slice(-2000)}`);
  }
  return result;
}

/**
 * `sluice up` (what `npm start` runs): the whole pipeline on this machine — simulated devices →
 * MQTT → ingest → stream → transform → aggregate → storage and alerts — with a live view and a
 * summary that checks nothing acked was lost. Embedded parts where nothing is configured.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UP_DEFAULTS, loadUpFile, resolveUpOptions } from '../up/upOptions';
import type { UpOptions } from '../up/upOptions';
import { runUp } from '../up/upRun';
import { formatUpSummary } from '../up/upSummaryText';

interface UpFlags {
  config?: string;
  devices?: string;
  rate?: string;
  duration?: string;
  seed?: string;
  partitions?: string;
  kafka?: string | boolean;
  kinesisEndpoint?: string;
  mqttUrl?: string;
  redisUrl?: string;
  pgUrl?: string;
  pg?: boolean;
  lakeDir?: string;
  alertRules?: string;
  webhookUrls?: string;
  dashboard?: boolean;
  dashboardPort?: string;
  json?: boolean;
  keyPrefix?: string;
  streamPrefix?: string;
  metricsPort?: string;
}

const FLAG_OF: Partial<Record<keyof UpOptions, string>> = {
  devices: '--devices', rate: '--rate', durationSeconds: '--duration', seed: '--seed', partitions: '--partitions', kafka: '--kafka', kinesisEndpoint: '--kinesis-endpoint',
  mqttUrl: '--mqtt-url', redisUrl: '--redis-url', pgUrl: '--pg-url', lakeDir: '--lake-dir', alertRules: '--alert-rules', webhookUrls: '--webhook-urls', dashboardPort: '--dashboard-port', metricsPort: '--metrics-port',
  json: '--json', keyPrefix: '--key-prefix', streamPrefix: '--stream-prefix', dashboard: '--no-dashboard',
};

export function upOptionsFromFlags(flags: UpFlags, cwd = process.cwd()): UpOptions {
  const found = path.join(cwd, 'sluice.yaml');
  const configFile = flags.config ?? (existsSync(found) ? found : undefined);
  // errors name the file as the user typed it (--config), or as the one found here
  const fileName = flags.config ?? 'sluice.yaml';
  const file = configFile ? loadUpFile(configFile, fileName) : {};
  return resolveUpOptions({
    devices: flags.devices, rate: flags.rate, durationSeconds: flags.duration, seed: flags.seed, partitions: flags.partitions, kafka: flags.kafka,
    kinesisEndpoint: flags.kinesisEndpoint, mqttUrl: flags.mqttUrl, redisUrl: flags.redisUrl, pgUrl: flags.pg === false ? false : flags.pgUrl,
    lakeDir: flags.lakeDir, alertRules: flags.alertRules, webhookUrls: flags.webhookUrls, dashboard: flags.dashboard === false ? false : undefined,
    dashboardPort: flags.dashboardPort, json: flags.json, keyPrefix: flags.keyPrefix, streamPrefix: flags.streamPrefix, metricsPort: flags.metricsPort,
  }, file, (key, from) => (from === 'file' ? `${fileName}: ${key}` : FLAG_OF[key] ?? key));
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the whole pipeline here: simulated devices → MQTT → ingest → stream → transform → aggregate → storage and alerts, with a live view and a summary')
    .option('--config <sluice.yaml>', 'settings file (default ./sluice.yaml if it exists); flags override it')
    .option('--devices <n>', `simulated devices (default ${UP_DEFAULTS.devices})`)
    .option('--rate <n>', `readings per second over the whole fleet (default ${UP_DEFAULTS.rate})`)
    .option('--duration <seconds>', `how long the devices run; 0 = until Ctrl-C (default ${UP_DEFAULTS.durationSeconds})`)
    .option('--seed <n>', `simulator seed: same seed, same readings (default ${UP_DEFAULTS.seed})`)
    .option('--partitions <n>', `partitions (Kafka) or shards (Kinesis) per stream (default ${UP_DEFAULTS.partitions})`)
    .option('--kafka [brokers]', 'use Kafka (default 127.0.0.1:9092, the one `sluice infra up` starts) instead of the embedded Kinesis')
    .option('--kinesis-endpoint <url>', 'use a running Kinesis endpoint (kinesalite, LocalStack) instead of the embedded one')
    .option('--mqtt-url <url>', 'use this MQTT broker (e.g. Mosquitto mqtt://127.0.0.1:1884) instead of the embedded aedes')
    .option('--redis-url <url>', 'Redis (default: 127.0.0.1:6379 if it answers, else a child redis-server)')
    .option('--pg-url <url>', 'PostgreSQL (default: postgres://postgres@127.0.0.1:5432/test if it answers)')
    .option('--no-pg', 'no PostgreSQL: storage writes lake files only')
    .option('--lake-dir <dir>', `data-lake root for Avro files (default ${UP_DEFAULTS.lakeDir})`)
    .option('--alert-rules <file.yaml>', 'alert rules (default: processors/alerts/default-rules.yaml)')
    .option('--webhook-urls <urls>', 'comma-separated webhook URLs that receive signed alert notifications')
    .option('--no-dashboard', 'do not serve the web dashboard')
    .option('--dashboard-port <port>', `dashboard port on 127.0.0.1; 0 = any free port (default ${UP_DEFAULTS.dashboardPort})`)
    .option('--metrics-port <port>', 'serve Prometheus metrics of ingest and every function at http://127.0.0.1:<port>/metrics')
    .option('--json', 'print the summary as JSON (and no live view)')
    .option('--stream-prefix <prefix>', 'prepended to every stream (and function) name, so several pipelines can share one Kafka')
    .option('--key-prefix <prefix>', `prefix of sluice's keys in Redis (default ${UP_DEFAULTS.keyPrefix})`)
    .addHelpText('after', `
With no flags everything runs embedded: no server to install or start.
Examples:
  sluice up                                   # 60 s, 50 devices, embedded parts
  sluice up --duration 0 --devices 500 --rate 2000
  sluice infra up && sluice up --kafka --mqtt-url mqtt://127.0.0.1:1884
Exit status: 0 when every acked reading reached storage, 1 otherwise.`)
    .action(async (flags: UpFlags) => {
      const options = upOptionsFromFlags(flags);
      let interrupts = 0;
      const stopRequested = new Promise<void>((resolve) => {
        const onSignal = (): void => {
          interrupts += 1;
          if (interrupts === 1) resolve();
          else process.exit(130);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      const summary = await runUp(options, { stopRequested, out: process.stderr, projectRoot: path.resolve(__dirname, '../..') });
      if (options.json) console.log(JSON.stringify(summary, null, 2));
      else console.log(formatUpSummary(summary));
      process.exitCode = summary.ok ? 0 : 1;
    });
}

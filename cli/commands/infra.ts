import type { Command } from 'commander';
import { SluiceError } from '../../core/errors';
import type { InfraUpReport } from '../../infra/localInfra';
import { infraDown, infraStatus, infraUp } from '../../infra/localInfra';
import type { InfraOptions } from '../../infra/options';
import { INFRA_DEFAULTS, resolveInfraOptions, SERVICE_NAMES } from '../../infra/options';
import { formatDown, formatStatus, formatUpReport } from '../infraReport';

/**
 * `sluice infra up|down|status`: the real local servers (Kafka from Maven jars, kinesalite,
 * the project's Mosquitto) and the machine's Redis, Mosquitto and PostgreSQL.
 */
interface InfraFlags {
  kafkaPort?: string;
  kafkaControllerPort?: string;
  kafkaVersion?: string;
  kinesisPort?: string;
  mosquittoPort?: string;
  only?: string;
  timeout?: string;
  json?: boolean;
}

function addServiceOptions(command: Command): Command {
  return command
    .option('--only <services>', `comma-separated subset of: ${SERVICE_NAMES.join(', ')}`)
    .option('--kafka-port <port>', `Kafka broker port (default ${INFRA_DEFAULTS.kafkaPort})`)
    .option('--kafka-controller-port <port>', 'KRaft controller port (default: Kafka port + 1)')
    .option('--kinesis-port <port>', `kinesalite port (default ${INFRA_DEFAULTS.kinesisPort})`)
    .option('--mosquitto-port <port>', `the project's Mosquitto port (default ${INFRA_DEFAULTS.mosquittoPort})`)
    .option('--json', 'print the result as JSON on stdout');
}

export function infraOptionsFromFlags(flags: InfraFlags): InfraOptions {
  return resolveInfraOptions({
    kafkaPort: flags.kafkaPort,
    kafkaControllerPort: flags.kafkaControllerPort,
    kafkaVersion: flags.kafkaVersion,
    kinesisPort: flags.kinesisPort,
    mosquittoPort: flags.mosquittoPort,
    services: flags.only,
    startTimeoutMs: flags.timeout,
  });
}

/** Runs `infra up`, prints its report; throws (exit 1) when a service could not be brought up. */
export async function runInfraUp(options: InfraOptions, json: boolean): Promise<InfraUpReport> {
  // progress goes to stderr so `--json` output on stdout stays parseable
  const report = await infraUp(options, (message) => console.error(message));
  console.log(json ? JSON.stringify(report, null, 2) : formatUpReport(report));
  const firstFailure = report.results.find((result) => result.action === 'failed');
  if (firstFailure !== undefined) {
    const failed = report.results.filter((result) => result.action === 'failed').map((result) => result.service);
    throw new SluiceError(firstFailure.error?.code ?? 'SERVICE_UNAVAILABLE', `infra up: could not start ${failed.join(', ')} (details above)`);
  }
  return report;
}

export function registerInfraCommand(program: Command): void {
  const infra = program
    .command('infra')
    .description('start, stop and check the local servers sluice runs on (Kafka, kinesalite, Mosquitto, Redis, PostgreSQL)')
    .addHelpText(
      'after',
      `
Services:
  kafka             Apache Kafka (KRaft, single node) from Maven Central jars, 127.0.0.1:9092
  kinesis           kinesalite (Kinesis API, in memory), http://127.0.0.1:4567
  mosquitto         the project's Mosquitto with infra/mosquitto/mosquitto.conf, 127.0.0.1:1884
  redis             the machine's Redis, 127.0.0.1:6379
  system-mosquitto  the machine's Mosquitto, 127.0.0.1:1883
  postgres          the machine's PostgreSQL, 127.0.0.1:5432 (database test)

Files: infra/.cache/ (jars, Kafka data, pid files and logs in infra/.cache/run/).`,
    );

  addServiceOptions(
    infra
      .command('up')
      .description('start what is not running and wait until each answers its protocol; a second run is a no-op'),
  )
    .option('--kafka-version <version>', 'Kafka release to run (default: the one in infra/kafka/pom.xml)')
    .option('--timeout <ms>', `how long to wait for each service (default ${INFRA_DEFAULTS.startTimeoutMs})`)
    .action(async (flags: InfraFlags) => {
      await runInfraUp(infraOptionsFromFlags(flags), flags.json === true);
    });

  addServiceOptions(
    infra
      .command('down')
      .description('stop what `infra up` started (SIGTERM, then SIGKILL after a timeout); the machine\'s own running services are left alone'),
  )
    .option('--wipe-kafka-data', "also delete Kafka's data directory (topics); the next up formats a new cluster")
    .action(async (flags: InfraFlags & { wipeKafkaData?: boolean }) => {
      const results = await infraDown(infraOptionsFromFlags(flags), { wipeKafkaData: flags.wipeKafkaData === true });
      console.log(flags.json === true ? JSON.stringify(results, null, 2) : formatDown(results));
    });

  addServiceOptions(
    infra.command('status').description('check each service with a real protocol round trip; for a down one, print how to start it'),
  ).action(async (flags: InfraFlags) => {
    const statuses = await infraStatus(infraOptionsFromFlags(flags));
    console.log(flags.json === true ? JSON.stringify(statuses, null, 2) : formatStatus(statuses));
  });
}

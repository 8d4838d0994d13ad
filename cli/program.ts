import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { commandRegistrations } from './commands';

/** The package's version, read from package.json at run time (one source of truth). */
export function packageVersion(): string {
  const packageJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
  return packageJson.version ?? '0.0.0';
}

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description(
      'Serverless-style IoT telemetry pipeline on one laptop, with real parts: MQTT devices -> ingest function -> ' +
        'Kafka or Kinesis -> checkpointed Lambda-style processors -> Redis aggregates, storage, alerts.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces of errors')
    // Commander would call process.exit itself; cli/main.ts decides exit codes instead.
    // Set before the commands are added so every subcommand inherits it.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Quick start:
  npm install && npm start     the whole pipeline for 60 s (sluice up): simulated devices,
                               live view, dashboard, and a summary that checks loss = 0
  npm test                     type check, lint, then run the tests against the real servers

Examples:
  sluice up --duration 0       the pipeline until Ctrl-C (embedded parts; --kafka for real Kafka)
  sluice infra status          what runs, and how to start what does not
  sluice infra up --only kafka,kinesis
  sluice infra down`,
    );
  for (const register of commandRegistrations) register(program);
  return program;
}

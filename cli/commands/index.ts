import type { Command } from 'commander';
import { registerAlertsCommand } from './alerts';
import { registerChaosCommand } from './chaos';
import { registerCheckpointsCommand } from './checkpoints';
import { registerDashboardCommand } from './dashboard';
import { registerDevicesCommand } from './devices';
import { registerDeployCommand } from './deploy';
import { registerDlqCommand } from './dlq';
import { registerInfraCommand } from './infra';
import { registerIngestCommand } from './ingest';
import { registerQueryCommand } from './query';
import { registerLoadtestCommand } from './loadtest';
import { registerRunCommand } from './run';
import { registerSecurityCommand } from './security';
import { registerSimulateCommand } from './simulate';
import { registerUpCommand } from './up';

/** Every top-level command, in the order `sluice --help` lists them. */
export const commandRegistrations: ReadonlyArray<(program: Command) => void> = [
  registerUpCommand,
  registerInfraCommand,
  registerRunCommand,
  registerSimulateCommand,
  registerIngestCommand,
  registerLoadtestCommand,
  registerChaosCommand,
  registerCheckpointsCommand,
  registerDlqCommand,
  registerQueryCommand,
  registerDashboardCommand,
  registerDevicesCommand,
  registerDeployCommand,
  registerSecurityCommand,
  registerAlertsCommand,
];

import type { Command } from 'commander';
import { infraStatus } from '../../infra/localInfra';
import { resolveInfraOptions } from '../../infra/options';
import { formatStatus } from '../infraReport';
import { runInfraUp } from './infra';

/**
 * `sluice up` (what `npm start` runs). For now it starts the local infrastructure and prints
 * its status; the "product experience" issue turns it into the whole pipeline (simulated
 * devices, ingest, processors, dashboard).
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start everything sluice needs locally and show its status (for now: the infrastructure only)')
    .action(async () => {
      const options = resolveInfraOptions();
      await runInfraUp(options, false);
      console.log('');
      console.log(formatStatus(await infraStatus(options)));
      console.log('\nStop it with: npm run infra:down');
    });
}

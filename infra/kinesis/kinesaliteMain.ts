/**
 * Entry of the kinesalite child process `sluice infra up` starts:
 *   node --require tsx/cjs infra/kinesis/kinesaliteMain.ts <port>
 */
import { startKinesaliteInProcess } from './kinesalite';

const port = Number(process.argv[2] ?? '4567');

startKinesaliteInProcess(port).then(
  (server) => {
    console.log(`kinesalite listening at ${server.endpoint}`);
    const stop = (): void => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

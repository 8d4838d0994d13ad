/**
 * Run by projectRedis.test.ts as its own process (node --require tsx/cjs): starts a project
 * Redis in argv[2], restarts it once (so the child to outlive is a restarted one), prints
 * `{"pid":..,"port":..}` and waits until a signal kills it, without calling stop().
 */
import { startProjectRedis } from '../../infra/redis/projectRedis';

async function main(): Promise<void> {
  const dir = process.argv[2] as string;
  const redis = await startProjectRedis({ dir });
  await redis.restart({ signal: 'SIGKILL' });
  process.stdout.write(`${JSON.stringify({ pid: redis.pid(), port: redis.port })}\n`);
  setInterval(() => undefined, 60_000); // stays until a signal ends it
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});

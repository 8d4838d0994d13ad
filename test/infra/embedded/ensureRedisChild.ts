/**
 * Run by ensureRedis.test.ts as its own process (node --require tsx/cjs): ensures a Redis at an
 * address where none answers (so it spawns one), prints `{"pid":..,"url":..}`, then ends the way
 * argv[3] says, without calling close(): `exit` (process.exit once a line arrives on stdin),
 * `wait` (until a signal kills it).
 */
import { ensureRedis } from '../../../infra/embedded/ensureRedis';

async function main(): Promise<void> {
  const [url, ending] = process.argv.slice(2);
  const redis = await ensureRedis({ url });
  process.stdout.write(`${JSON.stringify({ pid: redis.pid, url: redis.url, spawned: redis.spawned })}\n`);
  if (ending === 'exit') process.stdin.once('data', () => process.exit(0));
  setInterval(() => undefined, 60_000); // stays until told to exit or a signal ends it
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});

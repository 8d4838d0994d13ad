/**
 * How the processors hold PostgreSQL connections so that a dropped one fails the batch in
 * flight and nothing else: a restarted server, a failover or `pg_terminate_backend` closes
 * sockets under the pool, and node-pg reports that as an 'error' event on the Client. An
 * 'error' event nobody listens to is thrown by Node and kills the process, and node-pg's
 * pool listens only while a client is idle, not while it is checked out (between a failed
 * query and the ROLLBACK after it, say). So every client gets a listener for its whole life
 * here; the error itself still reaches the caller through the query that fails, and a client
 * whose connection broke is dropped when it is released, so the next batch connects anew.
 *
 * Every connection carries an `application_name` (`sluice-<function>`, processors/README.md):
 * an operator, or a chaos test, finds the pipeline's sessions in pg_stat_activity by it.
 */
import { Pool } from 'pg';
import type { PoolClient } from 'pg';

/**
 * The `application_name` of each function's connections, as the deployment templates name the
 * functions. The three alerts handlers (and `sluice alerts`) share one context, so one name.
 */
export const PG_APPLICATION_NAMES = {
  transform: 'sluice-transform',
  storeReadings: 'sluice-store-readings',
  storeAggregates: 'sluice-store-aggregates',
  compactLake: 'sluice-compact-lake',
  alerts: 'sluice-alerts',
} as const;

/** The connections a pool opens at most: a function instance runs a few batches at once at most. */
const MAX_CONNECTIONS = 4;

const ignoreError = (): void => undefined;

/**
 * A pool whose clients never crash the process with an 'error' event. `applicationName` names
 * its sessions; an `application_name` in the URL wins (node-pg lets the URL override), so an
 * operator can still rename one function's connections.
 */
export function createPipelinePool(url: string, applicationName: string): Pool {
  const pool = new Pool({ connectionString: url, max: MAX_CONNECTIONS, application_name: applicationName });
  // an idle client's error: the pool drops the client itself, the next query connects anew
  pool.on('error', ignoreError);
  // a checked-out client's error: its query in flight fails with it, and release() drops the client
  pool.on('connect', (client) => client.on('error', ignoreError));
  return pool;
}

/**
 * Runs `work` on one client of `pool` (a transaction, a session advisory lock). The client has
 * an 'error' listener while it is out, whatever pool it came from, and when `work` fails the
 * client is destroyed rather than put back: after a failure it may be mid-transaction or its
 * connection may be closing, and a fresh connection costs one connect.
 */
export async function withPgClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let connectionError: Error | undefined;
  const onError = (error: Error): void => {
    connectionError = error;
  };
  client.on('error', onError);
  let failure: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.removeListener('error', onError);
    // pg-pool destroys a client released with an error; from here on its own listener guards it
    client.release(connectionError ?? failure);
  }
}

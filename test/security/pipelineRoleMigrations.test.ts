/**
 * The processors under least privilege, on the real server: the owner applies the migrations
 * (`sluice security pg-roles --migrate`, the real CLI), and the storage and alerts handlers,
 * connected as the pipeline role (no CREATE anywhere), start by reading the ledger and store
 * real records. A migration that is missing fails the handler with one error that names it and
 * says how to apply it. A database and roles of this test's own, dropped afterwards.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { closeAlertsConnections, handler as alertsHandler } from '../../processors/alerts/handler';
import { REGISTRY_MIGRATIONS } from '../../processors/registry/registryMigrations';
import { findDevices } from '../../processors/registry/deviceStore';
import { applyMigrations, MigrationsNotAppliedError } from '../../processors/shared/migrations';
import { PIPELINE_MIGRATIONS } from '../../processors/shared/pipelineMigrations';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { handler as aggregatesHandler } from '../../processors/storage/aggregatesHandler';
import { handler as readingsHandler } from '../../processors/storage/readingsHandler';
import { STORAGE_MIGRATIONS } from '../../processors/storage/storageMigrations';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import { applyPostgresRoles } from '../../security/postgresRoles';
import { alertsTestBed, encodeReadings, processorEnvironment, reading, streamEvent } from '../processors/alerts/alertsTestSupport';
import type { AlertsTestBed } from '../processors/alerts/alertsTestSupport';
import { kafkaEvent, makeAggregate } from '../processors/storage/storageTestSupport';
import { testServers } from '../support/servers';

const SLUICE = path.resolve(__dirname, '../../bin/sluice.js');
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const database = `sluice_mig_${suffix}`;
const owner = `sluice_owner_m${suffix}`;
const pipeline = `sluice_pipeline_m${suffix}`;
const schema = 'sluice';
const adminUser = new URL(testServers.postgresUrl).username || 'postgres';

const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 0 }
`;

function urlFor(user: string): string {
  const url = new URL(testServers.postgresUrl);
  url.username = user;
  url.pathname = `/${database}`;
  return url.toString();
}

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

let server: Client;
let ownerPool: Pool;
let pipelinePool: Pool;
let bed: AlertsTestBed;

beforeAll(async () => {
  server = new Client({ connectionString: testServers.postgresUrl });
  await server.connect();
  await server.query(`CREATE DATABASE ${database}`);
  // the roles and the ledger, no migrations yet
  await applyPostgresRoles({ adminUrl: urlFor(adminUser), schema, ownerRole: owner, pipelineRole: pipeline });
  ownerPool = new Pool({ connectionString: urlFor(owner), max: 1 });
  ownerPool.on('error', () => undefined); // DROP DATABASE ... FORCE may close what pool.end() left
  pipelinePool = new Pool({ connectionString: urlFor(pipeline), max: 1 });
  pipelinePool.on('error', () => undefined);
  bed = await alertsTestBed();
  bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES), { SLUICE_PG_URL: urlFor(pipeline), SLUICE_LAKE_DIR: 'none' }));
});

afterAll(async () => {
  await closeAlertsConnections();
  await closeSharedResources();
  await bed?.close();
  await pipelinePool?.end();
  await ownerPool?.end();
  if (server !== undefined) {
    await server.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    for (const role of [pipeline, owner]) await server.query(`DROP ROLE IF EXISTS ${role}`);
    await server.end();
  }
});

async function ledger(): Promise<Array<{ id: string; applied_at: Date }>> {
  return (await ownerPool.query<{ id: string; applied_at: Date }>('SELECT id, applied_at FROM sluice_migrations ORDER BY id')).rows;
}

const readingsDevice = 'mig-dev-1';
const alertsDevice = 'mig-dev-2';

async function readingsEvent(): Promise<ReturnType<typeof kafkaEvent>> {
  const readings = [reading(readingsDevice, 1, { temperature: 21 }), reading(readingsDevice, 2, { temperature: 22 })];
  return kafkaEvent('enriched', 0, (await encodeReadings(bed.codec, readings)).map((d) => ({ position: d.position, key: d.key, value: d.value })));
}

async function aggregatesEvent(): Promise<ReturnType<typeof kafkaEvent>> {
  return kafkaEvent('aggregates', 0, [{ position: 1, key: 'mig-dev-1', value: await bed.codec.encode(SUBJECTS.aggregate, makeAggregate('mig-dev-1', 0)) }]);
}

let alertsEvent: ReturnType<typeof streamEvent> | undefined;
async function hotReadingEvent(): Promise<ReturnType<typeof streamEvent>> {
  // one event for the whole file: the runtime retries the same batch until it succeeds
  alertsEvent ??= streamEvent('kafka', 'enriched-migrations', await encodeReadings(bed.codec, [reading(alertsDevice, 1, { temperature: 41 })]));
  return alertsEvent;
}

describe('processors connected as the pipeline role', () => {
  it('fail with one error naming each missing migration and how to apply it', async () => {
    await applyMigrations(ownerPool, STORAGE_MIGRATIONS.slice(0, 1)); // the owner applied only the first
    const reason = `no CREATE on schema ${schema}`;

    const storage = readingsHandler(await readingsEvent());
    await expect(storage).rejects.toThrow(new MigrationsNotAppliedError(['storage-002-aggregates'], pipeline, reason));
    await expect(storage).rejects.toThrow(
      `PostgreSQL migration storage-002-aggregates not applied, and role ${pipeline} may not apply them (no CREATE on schema sluice): ` +
        'apply them as the owner role with `sluice security pg-roles --migrate` (SECURITY.md), then retry',
    );
    await expect(aggregatesHandler(await aggregatesEvent())).rejects.toThrow(new MigrationsNotAppliedError(['storage-002-aggregates'], pipeline, reason));
    await expect(alertsHandler(await hotReadingEvent())).rejects.toThrow(new MigrationsNotAppliedError(['alerts-001-alerts', 'alerts-002-alert-transitions'], pipeline, reason));
    // the transform's start-up check of the registry
    await expect(applyMigrations(pipelinePool, REGISTRY_MIGRATIONS)).rejects.toThrow(new MigrationsNotAppliedError(['registry-001-devices'], pipeline, reason));

    expect((await ledger()).map((row) => row.id)).toEqual(['storage-001-readings']);
  });

  it('have their migrations applied by the owner with `sluice security pg-roles --migrate`, once', async () => {
    const args = ['security', 'pg-roles', '--pg-url', urlFor(adminUser), '--schema', schema, '--owner-role', owner, '--pipeline-role', pipeline, '--migrate', '--json'];
    const first = await sluice(...args);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const expectedIds = PIPELINE_MIGRATIONS.map((migration) => migration.id).filter((id) => id !== 'storage-001-readings');
    expect(JSON.parse(first.stdout)).toMatchObject({ migrated: expectedIds, tables: ['aggregates', 'alert_transitions', 'alerts', 'devices', 'readings'] });
    const again = await sluice(...args);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ migrated: [] });

    const tables = await ownerPool.query<{ tableowner: string }>('SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = $1', [schema]);
    expect(tables.rows).toEqual([{ tableowner: owner }]);
  });

  it('start without CREATE, only reading the ledger, and store real records once every migration is applied', async () => {
    const privileges = await ownerPool.query<{ may_create: boolean }>(`SELECT has_schema_privilege($1, $2, 'CREATE') AS may_create`, [pipeline, schema]);
    expect(privileges.rows).toEqual([{ may_create: false }]);
    const before = await ledger();

    // the same process that failed above: the failure was not remembered
    await expect(readingsHandler(await readingsEvent())).resolves.toEqual({ batchItemFailures: [] });
    await expect(aggregatesHandler(await aggregatesEvent())).resolves.toEqual({ batchItemFailures: [] });
    await expect(alertsHandler(await hotReadingEvent())).resolves.toBeUndefined(); // the retried batch sends what waited in the outbox
    await expect(applyMigrations(pipelinePool, REGISTRY_MIGRATIONS)).resolves.toEqual([]);
    await expect(findDevices(pipelinePool, [readingsDevice])).resolves.toEqual(new Map());

    const readings = await ownerPool.query('SELECT device_id, seq FROM readings ORDER BY seq');
    expect(readings.rows).toEqual([{ device_id: readingsDevice, seq: '1' }, { device_id: readingsDevice, seq: '2' }]);
    const aggregates = await ownerPool.query('SELECT scope_id, metric FROM aggregates');
    expect(aggregates.rows).toEqual([{ scope_id: 'mig-dev-1', metric: 'temperature' }]);
    const alerts = await ownerPool.query('SELECT device_id, state, version FROM alerts');
    expect(alerts.rows).toEqual([{ device_id: alertsDevice, state: 'open', version: 1 }]);
    const transitions = await ownerPool.query('SELECT transition FROM alert_transitions');
    expect(transitions.rows).toEqual([{ transition: 'opened' }]);
    expect(await ledger()).toEqual(before);

    // the functions' sessions, as an operator finds them
    const sessions = await server.query<{ application_name: string }>(
      'SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = $1 AND usename = $2 ORDER BY application_name',
      [database, pipeline],
    );
    expect(sessions.rows.map((row) => row.application_name).filter((name) => name !== '')).toEqual(['sluice-alerts', 'sluice-store-aggregates', 'sluice-store-readings']);
  });
});

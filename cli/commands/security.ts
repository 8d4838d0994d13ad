/**
 * `sluice security redis-user|pg-roles`: the least-privilege accounts the pipeline connects to
 * Redis and PostgreSQL with (security/, SECURITY.md). MQTT credentials are `sluice devices
 * provision`. Passwords live in files (mode 0600, made when missing); nothing prints them.
 */
import type { Command } from 'commander';
import Redis from 'ioredis';
import { displayPath } from '../../infra/paths';
import { generatePassword } from '../../security/generatedPassword';
import { PIPELINE_MIGRATIONS } from '../../processors/shared/pipelineMigrations';
import { applyPostgresRoles, DEFAULT_PG_OWNER_ROLE, DEFAULT_PG_PIPELINE_ROLE } from '../../security/postgresRoles';
import { createRedisPipelineUser, DEFAULT_REDIS_PIPELINE_USER, deleteRedisPipelineUser } from '../../security/redisPipelineUser';
import { readOrCreateSecretFile } from '../../security/secretSources';
import { redactUrl } from '../../security/urlCredentials';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface RedisUserFlags {
  redisUrl?: string;
  username: string;
  keyPrefix: string;
  passwordFile: string;
  delete?: boolean;
}

interface PgRolesFlags {
  pgUrl?: string;
  schema: string;
  ownerRole: string;
  pipelineRole: string;
  ownerPasswordFile?: string;
  pipelinePasswordFile?: string;
  revokePublic?: boolean;
  migrate?: boolean;
  json?: boolean;
}

async function runRedisUser(flags: RedisUserFlags): Promise<void> {
  const adminUrl = flags.redisUrl ?? process.env.SLUICE_REDIS_URL ?? DEFAULT_REDIS_URL;
  const admin = new Redis(adminUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await admin.connect();
    if (flags.delete === true) {
      const existed = await deleteRedisPipelineUser(admin, flags.username);
      console.log(existed ? `Redis user ${flags.username} deleted` : `Redis user ${flags.username} did not exist`);
      return;
    }
    const { secret, created } = readOrCreateSecretFile(flags.passwordFile, '--password-file', generatePassword);
    await createRedisPipelineUser(admin, { username: flags.username, password: secret, keyPrefix: flags.keyPrefix });
    const target = new URL(adminUrl);
    target.username = flags.username;
    target.password = 'PASSWORD';
    console.log(
      [
        `Redis user ${flags.username} on ${redactUrl(adminUrl)}: keys ${flags.keyPrefix}:* and {${flags.keyPrefix}:*, channels ${flags.keyPrefix}:*, no dangerous or admin commands`,
        `password ${created ? 'made and written to' : 'read from'} ${displayPath(flags.passwordFile)} (Redis keeps only its SHA-256)`,
        `the pipeline connects with SLUICE_REDIS_URL=${target.toString()} (the password from that file)`,
        'the user lives in the server\'s memory: with an aclfile configured, ACL SAVE keeps it across restarts; else run this again after one',
      ].join('\n'),
    );
  } finally {
    admin.disconnect();
  }
}

function migrationsLine(migrated: string[] | undefined): string {
  if (migrated === undefined) return 'migrations run as this role (--migrate applies them now)';
  return migrated.length === 0 ? 'no migrations were pending' : `applied migrations ${migrated.join(', ')}`;
}

async function runPgRoles(flags: PgRolesFlags): Promise<void> {
  const adminUrl = flags.pgUrl ?? process.env.SLUICE_PG_URL ?? DEFAULT_PG_URL;
  const passwords = {
    owner: flags.ownerPasswordFile === undefined ? undefined : readOrCreateSecretFile(flags.ownerPasswordFile, '--owner-password-file', generatePassword),
    pipeline: flags.pipelinePasswordFile === undefined ? undefined : readOrCreateSecretFile(flags.pipelinePasswordFile, '--pipeline-password-file', generatePassword),
  };
  const result = await applyPostgresRoles({
    adminUrl,
    schema: flags.schema,
    ownerRole: flags.ownerRole,
    pipelineRole: flags.pipelineRole,
    ownerPassword: passwords.owner?.secret,
    pipelinePassword: passwords.pipeline?.secret,
    revokePublic: flags.revokePublic === true,
    migrations: flags.migrate === true ? PIPELINE_MIGRATIONS : undefined,
  });
  if (flags.json === true) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(
    [
      `database ${result.database} on ${redactUrl(adminUrl)}, schema ${result.schema}:`,
      `  ${result.ownerRole}: owns the schema and its tables; ${migrationsLine(result.migrated)}`,
      `  ${result.pipelineRole}: SELECT, INSERT, UPDATE on ${result.tables.length === 0 ? 'the tables migrations will create' : result.tables.join(', ')} (and later tables of ${result.ownerRole}); no DDL, no DELETE`,
      ...(['owner', 'pipeline'] as const).map((role) => {
        const password = passwords[role];
        return password === undefined ? `  ${role}: no password set (--${role}-password-file)` : `  ${role}: password ${password.created ? 'made and written to' : 'read from'} ${displayPath(role === 'owner' ? flags.ownerPasswordFile ?? '' : flags.pipelinePasswordFile ?? '')} (sent as a SCRAM verifier)`;
      }),
      flags.revokePublic === true ? '  PUBLIC may no longer connect to the database' : '  PUBLIC keeps its default CONNECT/TEMPORARY on the database (--revoke-public for a database of the pipeline\'s own)',
    ].join('\n'),
  );
}

export function registerSecurityCommand(program: Command): void {
  const security = program.command('security').description('least-privilege Redis and PostgreSQL accounts for the pipeline (MQTT: sluice devices provision); see SECURITY.md');
  security
    .command('redis-user')
    .description('create (or reset) the pipeline\'s Redis ACL user: its own keys and channels only, no dangerous commands; never touches the default user')
    .requiredOption('--password-file <file>', 'the user\'s password; made (random, mode 0600) when the file does not exist')
    .option('--redis-url <url>', `an account allowed to manage ACLs (default $SLUICE_REDIS_URL or ${DEFAULT_REDIS_URL})`)
    .option('--username <name>', 'the pipeline\'s user name', DEFAULT_REDIS_PIPELINE_USER)
    .option('--key-prefix <prefix>', 'the runtime\'s key prefix ($SLUICE_KEY_PREFIX)', 'sluice')
    .option('--delete', 'delete the user instead')
    .action(async (flags: RedisUserFlags) => runRedisUser(flags));
  security
    .command('pg-roles')
    .description('create (or converge) the migration owner role and the pipeline role with SELECT/INSERT/UPDATE only')
    .option('--pg-url <url>', `a superuser (or CREATEROLE owner of the database) (default $SLUICE_PG_URL or ${DEFAULT_PG_URL})`)
    .option('--schema <name>', 'the schema of the pipeline\'s tables', 'public')
    .option('--owner-role <name>', 'owns the schema and runs migrations', DEFAULT_PG_OWNER_ROLE)
    .option('--pipeline-role <name>', 'what the processors connect as', DEFAULT_PG_PIPELINE_ROLE)
    .option('--owner-password-file <file>', 'the owner\'s password; made when the file does not exist')
    .option('--pipeline-password-file <file>', 'the pipeline role\'s password; made when the file does not exist')
    .option('--migrate', 'apply every processor\'s pending migrations as the owner role (the pipeline role only checks them)')
    .option('--revoke-public', 'take PUBLIC\'s default CONNECT and TEMPORARY on the database and its rights on the schema (a database of the pipeline\'s own only)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: PgRolesFlags) => runPgRoles(flags));
}

/**
 * Every processor's PostgreSQL migrations, in the order an owner applies them at deploy time
 * (`sluice security pg-roles --migrate`): each list keeps its own order, and ids are unique
 * project-wide, so the lists do not depend on one another.
 */
import { ALERTS_MIGRATIONS } from '../alerts/alertsMigrations';
import { REGISTRY_MIGRATIONS } from '../registry/registryMigrations';
import { STORAGE_MIGRATIONS } from '../storage/storageMigrations';
import type { Migration } from './migrations';

export const PIPELINE_MIGRATIONS: readonly Migration[] = [...REGISTRY_MIGRATIONS, ...STORAGE_MIGRATIONS, ...ALERTS_MIGRATIONS];

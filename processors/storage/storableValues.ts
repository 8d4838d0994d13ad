/**
 * What a decoded record must satisfy to be stored, beyond its Avro schema. Avro accepts values
 * PostgreSQL refuses: a NUL character in text or jsonb, NaN or Infinity inside jsonb, a
 * timestamp outside PostgreSQL's (and ISO 8601's four-digit-year) range. Inserting such a row
 * would fail the whole batch on every retry, so the record is dead-lettered instead, with the
 * field named. The lake takes exactly what PostgreSQL takes, so both hold the same readings.
 */
import type { Aggregate, EnrichedReading } from '../../schemas/records';

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: ISO 8601 with a four-digit year, which PostgreSQL and the lake's dt= folders both take. */
export const MIN_STORABLE_TIME = -62_135_596_800_000;
export const MAX_STORABLE_TIME = 253_402_300_799_999;

function timeProblem(field: string, value: number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < MIN_STORABLE_TIME || value > MAX_STORABLE_TIME) return `${field}: ${value} ms is outside years 0001..9999`;
  return undefined;
}

function textProblem(field: string, value: string | null | undefined): string | undefined {
  return value && value.includes('\u0000') ? `${field}: contains a NUL character, which PostgreSQL text cannot hold` : undefined;
}

/** jsonb holds neither NaN nor Infinity, nor NUL in keys. */
function jsonNumbersProblem(field: string, map: Record<string, number> | null | undefined): string | undefined {
  if (!map) return undefined;
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = textProblem(`${field} key`, key);
    if (keyProblem) return keyProblem;
    if (!Number.isFinite(value)) return `${field}.${key}: ${value} cannot be stored in jsonb`;
  }
  return undefined;
}

function firstProblem(...problems: Array<string | undefined>): string | undefined {
  return problems.find((problem) => problem !== undefined);
}

export function readingProblem(reading: EnrichedReading): string | undefined {
  return firstProblem(
    textProblem('deviceId', reading.deviceId),
    textProblem('deviceType', reading.deviceType),
    textProblem('siteId', reading.siteId),
    textProblem('firmware', reading.firmware),
    timeProblem('eventTime', reading.eventTime),
    timeProblem('ingestTime', reading.ingestTime),
    timeProblem('transformTime', reading.transformTime),
    jsonNumbersProblem('metrics', reading.metrics),
    jsonNumbersProblem('thresholds', reading.thresholds),
  );
}

export function aggregateProblem(aggregate: Aggregate): string | undefined {
  return firstProblem(
    textProblem('scopeId', aggregate.scopeId),
    textProblem('metric', aggregate.metric),
    timeProblem('windowStart', aggregate.windowStart),
    timeProblem('windowEnd', aggregate.windowEnd),
    timeProblem('firstTime', aggregate.firstTime),
    timeProblem('lastTime', aggregate.lastTime),
    jsonNumbersProblem('percentiles', aggregate.percentiles),
  );
}

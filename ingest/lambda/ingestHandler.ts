/**
 * The ingest function as an AWS Lambda handler, for `sluice deploy render`'s SAM templates:
 *
 * - behind an API Gateway HTTP API (`POST /v1/telemetry`, payload format 2.0): the same contract
 *   as the local HTTP gateway (telemetryRequest.ts): 202 {accepted} once every reading is durable
 *   in the telemetry stream, 400/413 with reasons, 503 when the stream did not take them;
 * - as the action of an AWS IoT topic rule on `devices/+/telemetry`: one MQTT message, judged
 *   like MQTT ingest judges it (a valid reading goes to the telemetry stream, anything else to
 *   the dead-letter stream with its reason). The invocation fails only when neither could be
 *   stored, so Lambda's retries of asynchronous invocations deliver it again.
 *
 * Validation, Avro encoding, dead letters and batching are ingest's own (telemetryValidation,
 * IngestPipeline); this file only translates Lambda events.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { IngestMessage, IngestPipeline } from '../ingestPipeline';
import { iotRuleMessage } from './iotRuleEvent';
import { ingestLambdaResources } from './ingestLambdaResources';
import { judgeTelemetryRequest } from './telemetryRequest';

function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Resolves once the message (or its dead letter) is durable; rejects when it could not be stored. */
async function ingestOne(pipeline: IngestPipeline, message: IngestMessage): Promise<void> {
  await pipeline.whenReady();
  await new Promise<void>((resolve, reject) => pipeline.submit(message, (error) => (error ? reject(error) : resolve())));
}

export function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  if (typeof event !== 'object' || event === null) return false;
  const { version, requestContext } = event as { version?: unknown; requestContext?: { http?: { method?: unknown } } };
  return version === '2.0' && typeof requestContext?.http?.method === 'string';
}

export async function httpApiHandler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  // API Gateway routes only POST /v1/telemetry here; a route added by hand gets the local gateway's answer.
  if (event.requestContext.http.method !== 'POST') return jsonResponse(405, { error: 'method_not_allowed', message: 'POST /v1/telemetry' });
  const resources = await ingestLambdaResources();
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const outcome = judgeTelemetryRequest(body, Date.now(), resources.limits);
  if (outcome.kind === 'refuse') return jsonResponse(outcome.status, outcome.body);
  const stored = await Promise.allSettled(outcome.payloads.map((payload) => ingestOne(resources.http, { topic: undefined, payload })));
  const failed = stored.find((result) => result.status === 'rejected');
  if (failed) {
    resources.logger.error({ err: failed.reason, requestId: event.requestContext.requestId }, 'http ingest: readings not stored');
    return jsonResponse(503, { error: 'unavailable', message: 'the stream did not take the readings; retry' });
  }
  return jsonResponse(202, { accepted: outcome.payloads.length });
}

/** One message from the IoT rule: stored as a reading or a dead letter; throws (for a retry) only if neither is durable. */
export async function iotRuleHandler(event: unknown): Promise<void> {
  const resources = await ingestLambdaResources();
  await ingestOne(resources.iot, iotRuleMessage(event));
}

/** The deployed entry point: one function behind both the HTTP API and the IoT rule. */
export async function handler(event: unknown): Promise<APIGatewayProxyStructuredResultV2 | void> {
  if (isHttpApiEvent(event)) return httpApiHandler(event);
  return iotRuleHandler(event);
}

/**
 * ARNs for local resources. Events, contexts and failure records carry ARNs the way AWS builds
 * them, under one fixed local account id, 000000000000 (the account id LocalStack and most AWS
 * emulators use), so handlers that parse ARNs work unchanged and nothing looks like a real account.
 */
import { createHash } from 'node:crypto';

export const LOCAL_ACCOUNT_ID = '000000000000';
export const DEFAULT_REGION = 'us-east-1';
/** The execution role a local function "runs as": invokeIdentityArn in Kinesis events. */
export const LOCAL_EXECUTION_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/sluice-local-function`;

export function kinesisStreamArn(region: string, stream: string): string {
  return `arn:aws:kinesis:${region}:${LOCAL_ACCOUNT_ID}:stream/${stream}`;
}

export function lambdaFunctionArn(region: string, functionName: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
}

/** A stable UUID-shaped id derived from a name, so a cluster keeps one ARN across runs. */
function stableUuid(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * An MSK cluster ARN, `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>-<n>` like AWS's.
 * The uuid defaults to one derived from the cluster name (e.g. the bootstrap servers).
 */
export function mskClusterArn(region: string, clusterName: string, clusterUuid: string = `${stableUuid(clusterName)}-1`): string {
  const name = clusterName.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'local';
  return `arn:aws:kafka:${region}:${LOCAL_ACCOUNT_ID}:cluster/${name}/${clusterUuid}`;
}

/** The region field of an ARN (`arn:aws:kinesis:eu-west-1:...` -> `eu-west-1`), or undefined. */
export function regionOfArn(arn: string): string | undefined {
  const region = arn.split(':')[3];
  return region ? region : undefined;
}

/**
 * The SAM template of the whole pipeline on AWS Lambda (`sluice deploy render --target kinesis|msk`):
 * the same handler files as `sluice run`, built by `sam build` with esbuild (no compile step of
 * our own), each pipeline function with the event-source mapping the local runtime resolves for
 * it, the scheduled functions on EventBridge, and the ingest function behind an HTTP API and an
 * IoT topic rule.
 *
 * Streams: the Kinesis target creates the pipeline's streams (on-demand capacity) and an S3
 * bucket for failed batches; the MSK target takes an existing cluster (ARN and plaintext
 * bootstrap brokers) whose topics are created beforehand (the stack's TopicsToCreate output).
 */
import { parseHandlerSpec } from '../../runtime/mapping/handlerSpec';
import { INGEST_LAMBDA_ENVIRONMENT } from '../../ingest/lambda/ingestLambdaResources';
import { IOT_TELEMETRY_RULE_SQL } from '../../ingest/lambda/iotRuleEvent';
import { PIPELINE_STREAMS, SCHEDULED_FUNCTIONS } from '../pipeline/pipelineSpec';
import type { PipelineStream } from '../pipeline/pipelineSpec';
import type { CfnValue } from './cfnIntrinsics';
import { getAtt, ref, sub } from './cfnIntrinsics';
import type { PlainSetting } from './deploymentEnvironment';
import { environmentSetting } from './deploymentEnvironment';
import type { DeployedFunction } from './pipelineDeployment';
import { pascalCase } from './pipelineDeployment';
import type { SamTarget } from './samEvents';
import { FAILURE_BUCKET_ID, MSK_CLUSTER_PARAMETER, streamEventProperties, streamLogicalId } from './samEvents';

/** The ingest function: not a stream consumer, so not in the pipeline table. */
export const INGEST_FUNCTION = {
  name: 'sluice-ingest',
  handler: 'ingest/lambda/ingestHandler.ts#handler',
  environment: INGEST_LAMBDA_ENVIRONMENT,
  // API Gateway gives up on an integration after 30 s; a request waits only for its own produce.
  settings: { Timeout: 10, MemorySize: 512 },
} as const;

/** Scheduled functions have no mapping to take settings from; a tick must end well before the next one. */
export const SCHEDULED_FUNCTION_SETTINGS = { Timeout: 30, MemorySize: 256 } as const;

export const HTTP_API_PATH = '/v1/telemetry';
export const IOT_SQL_VERSION = '2016-03-23';
export const ACCESS_POLICY_ID = 'PipelineAccessPolicy';
const STREAM_PREFIX_PARAMETER = 'StreamNamePrefix';
const MSK_BROKERS_PARAMETER = 'MskBootstrapServers';

/** Streams the Kinesis target creates: every pipeline stream but the failure stream, whose role S3 takes on AWS. */
export function kinesisStreamsCreated(): PipelineStream[] {
  return (Object.keys(PIPELINE_STREAMS) as PipelineStream[]).filter((stream) => stream !== 'failures');
}

/**
 * EventBridge rates are whole minutes, at least `rate(1 minute)`; locally `sluice up` ticks
 * every `rateSeconds` (1 s for closing windows). On AWS a window therefore closes up to a minute
 * after its end when no new record arrives to close it earlier.
 */
export function scheduleExpression(rateSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(rateSeconds / 60));
  return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
}

/** `handler.closeWindows` for `processors/aggregate/handler.ts#closeWindows`: esbuild writes one entry point as `<name>.js` at the artifact root. */
export function lambdaHandlerName(handler: string): string {
  const { file, exportName } = parseHandlerSpec(handler);
  const base = (file.split('/').pop() ?? file).replace(/\.[cm]?[jt]s$/, '');
  return `${base}.${exportName}`;
}

function streamAddress(target: SamTarget, stream: PipelineStream): CfnValue {
  const name = PIPELINE_STREAMS[stream];
  return target === 'kinesis' ? sub(`kinesis:///\${${STREAM_PREFIX_PARAMETER}}${name}`) : sub(`kafka://\${${MSK_BROKERS_PARAMETER}}/${name}`);
}

class SamTemplateBuilder {
  private readonly parameters = new Map<string, PlainSetting>();

  constructor(private readonly target: SamTarget) {}

  environment(functionName: string, names: readonly string[]): Record<string, CfnValue> {
    const variables: Record<string, CfnValue> = {};
    for (const name of names) {
      const setting = environmentSetting(name, functionName);
      if (setting.kind === 'stream') {
        variables[name] = streamAddress(this.target, setting.stream);
      } else {
        this.parameters.set(setting.parameter, setting);
        variables[name] = ref(setting.parameter);
      }
    }
    return variables;
  }

  lambdaFunction(name: string, handler: string, settings: Record<string, unknown>, environment: readonly string[], events: Record<string, unknown>): Record<string, unknown> {
    return {
      Type: 'AWS::Serverless::Function',
      // sam build bundles the TypeScript handler file as it is (no compile step of ours).
      // External: @datadog/sketches-js requires protobufjs (its dev dependency) only to serialize sketches, which sluice never does
      Metadata: { BuildMethod: 'esbuild', BuildProperties: { Format: 'cjs', Target: 'es2022', Sourcemap: true, External: ['protobufjs/minimal'], EntryPoints: [parseHandlerSpec(handler).file] } },
      Properties: {
        FunctionName: name,
        Handler: lambdaHandlerName(handler),
        ...settings,
        Environment: { Variables: this.environment(name, environment) },
        ...(this.target === 'kinesis' ? { Policies: [ref(ACCESS_POLICY_ID)] } : {}),
        Events: events,
      },
    };
  }

  pipelineFunction({ spec, mapping }: DeployedFunction): Record<string, unknown> {
    const settings = {
      Timeout: mapping.Function.Timeout,
      MemorySize: mapping.Function.MemorySize,
      ...(mapping.Function.ReservedConcurrentExecutions === undefined ? {} : { ReservedConcurrentExecutions: mapping.Function.ReservedConcurrentExecutions }),
    };
    const event = { Type: this.target === 'kinesis' ? 'Kinesis' : 'MSK', Properties: streamEventProperties(mapping, spec.source, this.target) };
    return this.lambdaFunction(spec.name, spec.handler, settings, spec.environment, { Stream: event });
  }

  resources(pipeline: DeployedFunction[]): Record<string, unknown> {
    const resources: Record<string, unknown> = {};
    if (this.target === 'kinesis') {
      for (const stream of kinesisStreamsCreated()) {
        resources[streamLogicalId(stream)] = { Type: 'AWS::Kinesis::Stream', Properties: { Name: sub(`\${${STREAM_PREFIX_PARAMETER}}${PIPELINE_STREAMS[stream]}`), StreamModeDetails: { StreamMode: 'ON_DEMAND' } } };
      }
      resources[FAILURE_BUCKET_ID] = { Type: 'AWS::S3::Bucket', Properties: { PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true } } };
      resources[ACCESS_POLICY_ID] = this.accessPolicy();
    }
    resources[`${pascalCase(INGEST_FUNCTION.name)}Function`] = this.lambdaFunction(INGEST_FUNCTION.name, INGEST_FUNCTION.handler, INGEST_FUNCTION.settings, INGEST_FUNCTION.environment, {
      HttpApi: { Type: 'HttpApi', Properties: { Path: HTTP_API_PATH, Method: 'POST', PayloadFormatVersion: '2.0' } },
      IotTelemetry: { Type: 'IoTRule', Properties: { Sql: IOT_TELEMETRY_RULE_SQL, AwsIotSqlVersion: IOT_SQL_VERSION } },
    });
    for (const deployed of pipeline) resources[`${pascalCase(deployed.spec.name)}Function`] = this.pipelineFunction(deployed);
    for (const scheduled of SCHEDULED_FUNCTIONS) {
      const timer = { Type: 'Schedule', Properties: { Schedule: scheduleExpression(scheduled.rateSeconds), Description: `locally every ${scheduled.rateSeconds} s; EventBridge rates are at least 1 minute` } };
      resources[`${pascalCase(scheduled.name)}Function`] = this.lambdaFunction(scheduled.name, scheduled.handler, SCHEDULED_FUNCTION_SETTINGS, scheduled.environment, { Timer: timer });
    }
    return resources;
  }

  /** Writing to the pipeline's streams and failed batches to the bucket (reading a mapping's stream SAM grants by itself). */
  accessPolicy(): Record<string, unknown> {
    const streams = kinesisStreamsCreated().map((stream) => getAtt(streamLogicalId(stream), 'Arn'));
    return {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'], Resource: streams },
            { Effect: 'Allow', Action: ['s3:PutObject', 's3:ListBucket'], Resource: [getAtt(FAILURE_BUCKET_ID, 'Arn'), sub(`\${${FAILURE_BUCKET_ID}.Arn}/*`)] },
          ],
        },
      },
    };
  }

  parameterSection(): Record<string, unknown> {
    const section: Record<string, unknown> = {};
    if (this.target === 'kinesis') {
      section[STREAM_PREFIX_PARAMETER] = { Type: 'String', Default: 'sluice-', Description: 'prefix of the Kinesis stream names this stack creates' };
    } else {
      section[MSK_CLUSTER_PARAMETER] = { Type: 'String', Description: 'ARN of the MSK cluster whose topics the pipeline reads' };
      section[MSK_BROKERS_PARAMETER] = { Type: 'String', Description: 'its plaintext bootstrap brokers (host:9092,host:9092): the functions produce with kafkajs, without TLS or IAM auth' };
    }
    section.SubnetIds = { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'subnets with a route to Redis and PostgreSQL (and to Kinesis: NAT or a VPC endpoint)' };
    section.SecurityGroupIds = { Type: 'List<AWS::EC2::SecurityGroup::Id>', Description: 'security groups of the functions' };
    for (const [name, setting] of [...this.parameters.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      section[name] = { Type: 'String', ...(setting.awsDefault === undefined ? {} : { Default: setting.awsDefault }), ...(setting.secret ? { NoEcho: true } : {}), Description: setting.description };
    }
    return section;
  }

  outputs(): Record<string, unknown> {
    const outputs: Record<string, unknown> = {
      TelemetryApiUrl: { Description: 'POST readings here (JSON array or one reading)', Value: sub(`https://\${ServerlessHttpApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}${HTTP_API_PATH}`) },
    };
    if (this.target === 'kinesis') outputs.FailureBucketName = { Description: 'failed batches, with their records (the local failure stream)', Value: ref(FAILURE_BUCKET_ID) };
    else outputs.TopicsToCreate = { Description: 'create these topics on the cluster before the first deploy', Value: Object.values(PIPELINE_STREAMS).join(',') };
    return outputs;
  }
}

export function renderSamTemplate(target: SamTarget, pipeline: DeployedFunction[]): Record<string, unknown> {
  const builder = new SamTemplateBuilder(target);
  const resources = builder.resources(pipeline); // first: it collects the parameters the functions use
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Transform: 'AWS::Serverless-2016-10-31',
    Description: `sluice pipeline on AWS Lambda with ${target === 'kinesis' ? 'Kinesis Data Streams' : 'Amazon MSK'}: the handlers sluice runs locally, with the same event-source-mapping settings`,
    Parameters: builder.parameterSection(),
    Globals: {
      Function: {
        Runtime: 'nodejs20.x',
        // Pure JavaScript dependencies only, so Graviton (cheaper per GB-second) needs nothing special.
        Architectures: ['arm64'],
        // Relative to this template (infra/aws/): the project root, where package.json is.
        CodeUri: '../../',
        VpcConfig: { SubnetIds: ref('SubnetIds'), SecurityGroupIds: ref('SecurityGroupIds') },
        Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
      },
    },
    Resources: resources,
    Outputs: builder.outputs(),
  };
}

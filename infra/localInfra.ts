import { errorMessage, isSluiceError } from '../core/errors';
import { downKafka, kafkaSpec, statusKafka, upKafka } from './kafka/kafkaServer';
import { downKinesis, kinesisSpec, statusKinesis, upKinesis } from './kinesis/kinesalite';
import { downMachineService, machineService, statusMachineService, upMachineService } from './machineServices';
import { downMosquitto, mosquittoSpec, statusMosquitto, upMosquitto } from './mosquitto/mosquittoServer';
import type { InfraOptions, ServiceName } from './options';
import type { ProgressListener, ServiceDownResult, ServiceStatus, ServiceUpResult } from './serviceReport';

/**
 * `sluice infra up|down|status` as functions: every requested service at once, one report.
 * A failing service does not stop the others; the report says which failed and why.
 */
export interface InfraUpReport {
  ok: boolean;
  durationMs: number;
  results: ServiceUpResult[];
}

export async function infraUp(options: InfraOptions, onProgress: ProgressListener = () => undefined): Promise<InfraUpReport> {
  const began = Date.now();
  const results = await Promise.all(
    options.services.map((service) =>
      upService(service, options, onProgress).catch((error: unknown): ServiceUpResult => ({
        service,
        address: serviceAddress(service, options),
        action: 'failed',
        detail: errorMessage(error),
        durationMs: Date.now() - began,
        phases: {},
        error: { code: isSluiceError(error) ? error.code : 'UNKNOWN', message: errorMessage(error) },
      })),
    ),
  );
  return { ok: results.every((result) => result.action !== 'failed'), durationMs: Date.now() - began, results };
}

function upService(service: ServiceName, options: InfraOptions, onProgress: ProgressListener): Promise<ServiceUpResult> {
  switch (service) {
    case 'kafka':
      return upKafka(options, onProgress);
    case 'kinesis':
      return upKinesis(options, onProgress);
    case 'mosquitto':
      return upMosquitto(options, onProgress);
    case 'redis':
    case 'system-mosquitto':
    case 'postgres':
      return upMachineService(machineService(service), options);
  }
}

export async function infraDown(options: InfraOptions, down: { wipeKafkaData?: boolean } = {}): Promise<ServiceDownResult[]> {
  return Promise.all(
    options.services.map((service): Promise<ServiceDownResult> => {
      switch (service) {
        case 'kafka':
          return downKafka(options, { wipeData: down.wipeKafkaData });
        case 'kinesis':
          return downKinesis(options);
        case 'mosquitto':
          return downMosquitto(options);
        case 'redis':
        case 'system-mosquitto':
        case 'postgres':
          return downMachineService(machineService(service), options);
      }
    }),
  );
}

export async function infraStatus(options: InfraOptions): Promise<ServiceStatus[]> {
  return Promise.all(
    options.services.map((service): Promise<ServiceStatus> => {
      switch (service) {
        case 'kafka':
          return statusKafka(options);
        case 'kinesis':
          return statusKinesis(options);
        case 'mosquitto':
          return statusMosquitto(options);
        case 'redis':
        case 'system-mosquitto':
        case 'postgres':
          return statusMachineService(machineService(service), options.cacheDir);
      }
    }),
  );
}

export function serviceAddress(service: ServiceName, options: InfraOptions): string {
  switch (service) {
    case 'kafka':
      return kafkaSpec(options).address;
    case 'kinesis':
      return kinesisSpec(options).address;
    case 'mosquitto':
      return mosquittoSpec(options).address;
    case 'redis':
    case 'system-mosquitto':
    case 'postgres':
      return machineService(service).address;
  }
}

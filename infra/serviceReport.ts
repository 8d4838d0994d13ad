import type { ErrorCode } from '../core/errors';
import type { ServiceName } from './options';

/**
 * What `infra status|up|down` report per service. Plain data: the CLI prints it as a table or
 * JSON, tests assert on it.
 */
export type ServiceOwner =
  /** a process `sluice infra up` started (pid file under infra/.cache/run) */
  | 'sluice'
  /** the machine's own server (Redis, Mosquitto 1883, PostgreSQL) */
  | 'machine'
  /** something answers the protocol but sluice did not start it (e.g. a developer's own Kafka) */
  | 'other'
  | 'none';

export interface ServiceStatus {
  service: ServiceName;
  address: string;
  /** answers its protocol right now */
  running: boolean;
  owner: ServiceOwner;
  pid?: number;
  /** what the probe saw: "Kafka 4.2.0, cluster ..., 1 broker(s)" or the connection error */
  detail: string;
  /** the exact command that starts it, when it is not running */
  howToStart?: string;
}

export type UpAction = 'started' | 'already-running' | 'failed';

export interface ServiceUpResult {
  service: ServiceName;
  address: string;
  action: UpAction;
  pid?: number;
  detail: string;
  /** wall time for this service, preparation included */
  durationMs: number;
  /** named parts of durationMs, e.g. { resolveJars: 12000, format: 3000, start: 9000 } */
  phases: Record<string, number>;
  error?: { code: ErrorCode; message: string };
}

export type DownAction = 'stopped' | 'killed' | 'not-running' | 'left-running';

export interface ServiceDownResult {
  service: ServiceName;
  address: string;
  action: DownAction;
  detail: string;
}

export type ProgressListener = (message: string) => void;

/**
 * infra/k8s/sluice.yaml (`sluice deploy render --target k8s`): the sluice containers on a
 * cluster that already runs Kafka, Redis, PostgreSQL and an MQTT broker (their addresses in the
 * ConfigMap and Secret). One Deployment per container, a metrics Service each, a Job that
 * creates the topics, and per pipeline function a KEDA ScaledObject that scales its Deployment on
 * the lag of the consumer group the runtime reads with, from zero (like Lambda) up to one
 * replica per partition.
 */
import type { ClusterOptions, SluiceContainer } from './clusterDeployment';
import { METRICS_PROBE_COMMAND, environmentNames, topicCreationScript } from './clusterDeployment';
import { CLUSTER_LAKE_DIR, clusterEnvironmentValue, environmentSetting } from './deploymentEnvironment';
import { defaultKafkaVersion } from '../../infra/kafka/kafkaJars';

export const K8S_CONFIG_MAP = 'sluice-config';
export const K8S_SECRET = 'sluice-secrets';
/** The image's `node` user: nothing in a sluice container needs root. */
const NODE_USER_ID = 1000;

const labels = (component: string): Record<string, string> => ({ 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': component });

function configMapAndSecret(containers: SluiceContainer[], options: ClusterOptions): Array<Record<string, unknown>> {
  const data: Record<string, string> = { SLUICE_KAFKA_BROKERS: options.kafkaBrokers };
  const secret: Record<string, string> = {};
  for (const name of environmentNames(containers)) {
    const setting = environmentSetting(name, 'k8s');
    (setting.kind === 'plain' && setting.secret ? secret : data)[name] = clusterEnvironmentValue(name, 'k8s', options.kafkaBrokers);
  }
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: K8S_CONFIG_MAP, labels: labels('config') }, data },
    // Development values: replace them (or manage this Secret elsewhere) before a real deployment.
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: K8S_SECRET, labels: labels('config') }, type: 'Opaque', stringData: secret },
  ];
}

function topicJob(options: ClusterOptions): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'sluice-create-topics', labels: labels('create-topics') },
    spec: {
      backoffLimit: 10,
      template: {
        metadata: { labels: labels('create-topics') },
        spec: {
          restartPolicy: 'OnFailure',
          containers: [{ name: 'create-topics', image: `apache/kafka:${defaultKafkaVersion()}`, command: ['/bin/sh', '-c', topicCreationScript(options.kafkaBrokers, options.partitions)] }],
        },
      },
    },
  };
}

function deployment(container: SluiceContainer, options: ClusterOptions): Record<string, unknown> {
  const ports = [{ name: 'metrics', containerPort: container.ports.metrics }, ...(container.ports.http === undefined ? [] : [{ name: 'http', containerPort: container.ports.http }])];
  const probe = { exec: { command: METRICS_PROBE_COMMAND }, periodSeconds: 10, timeoutSeconds: 5 };
  const writesLake = container.environment.includes('SLUICE_LAKE_DIR');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: container.name, labels: labels(container.name) },
    spec: {
      // KEDA owns the replica count of pipeline functions; ingest runs two for availability.
      replicas: container.scaling ? 1 : 2,
      selector: { matchLabels: labels(container.name) },
      template: {
        metadata: {
          labels: labels(container.name),
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(container.ports.metrics), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          // A drain (in-flight batches finish and are checkpointed) gets time before SIGKILL.
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: NODE_USER_ID },
          containers: [{
            name: 'sluice',
            image: options.image,
            args: container.args,
            envFrom: [{ configMapRef: { name: K8S_CONFIG_MAP } }, { secretRef: { name: K8S_SECRET } }],
            ports,
            readinessProbe: probe,
            livenessProbe: { ...probe, initialDelaySeconds: 30 },
            resources: { requests: { cpu: '250m', memory: `${container.memoryMb}Mi` }, limits: { memory: `${container.memoryMb * 2}Mi` } },
            ...(writesLake ? { volumeMounts: [{ name: 'lake', mountPath: CLUSTER_LAKE_DIR }] } : {}),
          }],
          // emptyDir lives as long as the pod: give the lake a PersistentVolumeClaim (or object storage) to keep it.
          ...(writesLake ? { volumes: [{ name: 'lake', emptyDir: {} }] } : {}),
        },
      },
    },
  };
}

function metricsService(container: SluiceContainer): Record<string, unknown> {
  const ports = [{ name: 'metrics', port: container.ports.metrics, targetPort: 'metrics' }, ...(container.ports.http === undefined ? [] : [{ name: 'http', port: 80, targetPort: 'http' }])];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: container.name,
      labels: labels(container.name),
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(container.ports.metrics), 'prometheus.io/path': '/metrics' },
    },
    spec: { selector: labels(container.name), ports },
  };
}

function scaledObject(container: SluiceContainer, options: ClusterOptions): Record<string, unknown> | undefined {
  const scaling = container.scaling;
  if (!scaling) return undefined;
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: container.name, labels: labels(container.name) },
    spec: {
      scaleTargetRef: { name: container.name },
      // Like Lambda: no instance while there is nothing to read, one per partition at most.
      minReplicaCount: 0,
      maxReplicaCount: options.partitions,
      cooldownPeriod: 300,
      triggers: [{
        type: 'kafka',
        metadata: {
          bootstrapServers: options.kafkaBrokers,
          consumerGroup: scaling.consumerGroup,
          topic: scaling.topic,
          lagThreshold: String(scaling.lagThreshold),
          activationLagThreshold: '0',
          offsetResetPolicy: scaling.offsetResetPolicy,
        },
      }],
    },
  };
}

/** Every manifest, in apply order. */
export function renderK8sManifests(containers: SluiceContainer[], options: ClusterOptions): Array<Record<string, unknown>> {
  const manifests = [...configMapAndSecret(containers, options), topicJob(options)];
  for (const container of containers) {
    manifests.push(deployment(container, options), metricsService(container));
    const scaler = scaledObject(container, options);
    if (scaler) manifests.push(scaler);
  }
  return manifests;
}

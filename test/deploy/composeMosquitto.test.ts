/**
 * The Mosquitto configuration docker-compose gives the broker (infra/docker/mosquitto.conf, which
 * includes the project's infra/mosquitto/mosquitto.conf), run by the machine's real mosquitto:
 * the broker starts with it and answers on the container listener. Ports are moved to free ones,
 * as `sluice infra up` moves the project listener.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { COMPOSE_MOSQUITTO_CONF, COMPOSE_MOSQUITTO_INCLUDE_DIR } from '../../cli/deploy/composeFile';
import { COMMITTED_RENDERINGS } from '../../cli/deploy/renderTargets';
import { mosquittoConfigForPort } from '../../infra/mosquitto/mosquittoServer';
import { findExecutable } from '../../infra/processControl';
import { PROJECT_ROOT, at, parseYaml, readProjectFile } from './deployTestSupport';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function connectWithin(url: string, timeoutMs: number): Promise<mqtt.MqttClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('the docker-compose Mosquitto configuration', () => {
  let broker: ChildProcess | undefined;
  let dir: string;
  let stderr = '';

  afterAll(() => {
    if (broker?.pid !== undefined && broker.exitCode === null) process.kill(broker.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is what the compose file mounts', () => {
    const volumes = at(parseYaml(readProjectFile(COMMITTED_RENDERINGS.compose)), 'services', 'mosquitto', 'volumes') as string[];
    expect(volumes).toEqual([`${COMPOSE_MOSQUITTO_CONF}:/mosquitto/config/mosquitto.conf:ro`, `./mosquitto/mosquitto.conf:${COMPOSE_MOSQUITTO_INCLUDE_DIR}/sluice.conf:ro`]);
  });

  it('starts a broker that answers on the container listener with the project settings included', async () => {
    const mosquitto = findExecutable('mosquitto');
    expect(mosquitto).toBeDefined();
    const [containerPort, projectPort] = [await freePort(), await freePort()];
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-compose-mosquitto-'));
    const includeDir = path.join(dir, 'sluice.d');
    mkdirSync(includeDir);
    const composeConf = readFileSync(path.join(PROJECT_ROOT, 'infra', COMPOSE_MOSQUITTO_CONF), 'utf8');
    expect(composeConf).toMatch(/^listener 1883 0\.0\.0\.0$/m);
    expect(composeConf).toContain(`include_dir ${COMPOSE_MOSQUITTO_INCLUDE_DIR}`);
    const mainConf = composeConf.replace(/^listener 1883 0\.0\.0\.0$/m, `listener ${containerPort} 127.0.0.1`).replace(`include_dir ${COMPOSE_MOSQUITTO_INCLUDE_DIR}`, `include_dir ${includeDir}`);
    writeFileSync(path.join(dir, 'mosquitto.conf'), mainConf);
    writeFileSync(path.join(includeDir, 'sluice.conf'), mosquittoConfigForPort(projectPort));

    broker = spawn(mosquitto ?? 'mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = await connectWithin(`mqtt://127.0.0.1:${containerPort}`, 10_000).catch((error: unknown) => {
      throw new Error(`mosquitto did not answer (exit ${String(broker?.exitCode)}): ${stderr} ${String(error)}`);
    });
    try {
      await client.subscribeAsync('devices/+/telemetry', { qos: 1 });
      const received = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
      await client.publishAsync('devices/d-1/telemetry', '{}', { qos: 1 });
      expect(await received).toBe('devices/d-1/telemetry');
    } finally {
      await client.endAsync();
    }
    // the included project file's own listener is there too: the include was read
    const projectClient = await connectWithin(`mqtt://127.0.0.1:${projectPort}`, 5000);
    await projectClient.endAsync();
  });
});

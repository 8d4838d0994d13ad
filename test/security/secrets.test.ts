/**
 * Where secrets come from and how they are kept out of what gets printed: URL credentials,
 * secret files and variables, the device credentials file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fc, test } from '@fast-check/jest';
import { errorMessage } from '../../core/errors';
import { readMqttCredentials, writeMqttCredentials } from '../../security/mqttCredentialsFile';
import { debugPrintsMqttPasswords, resolveMqttLogin } from '../../security/mqttLogin';
import { fileMode } from '../../security/privateFiles';
import { readSecret, readSecretFile } from '../../security/secretSources';
import { REDACTED, redactUrl, splitUrlCredentials } from '../../security/urlCredentials';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-secrets-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, content, { mode: 0o600 });
  return target;
}

const schemes = fc.constantFrom('mqtt', 'mqtts', 'redis', 'rediss', 'postgres', 'ws');
const user = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/);
const secret = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });

describe('credentials in URLs', () => {
  test.prop([schemes, user, secret])('are taken out exactly, leaving a URL without them', (scheme, name, password) => {
    const url = `${scheme}://${name}:${encodeURIComponent(password)}@127.0.0.1:1234/x`;
    const split = splitUrlCredentials(url);
    expect(split).toEqual({ url: `${scheme}://127.0.0.1:1234/x`, username: name, password });
  });

  test.prop([schemes, user, secret])('are redacted for printing: the password replaced, the rest kept', (scheme, name, password) => {
    const url = `${scheme}://${name}:${encodeURIComponent(password)}@127.0.0.1:1234/x`;
    expect(redactUrl(url)).toBe(`${scheme}://${name}:${REDACTED}@127.0.0.1:1234/x`);
  });

  it('redacts password query parameters and leaves URLs without secrets alone', () => {
    expect(redactUrl('postgres://127.0.0.1/test?password=hunter2&sslmode=require')).toBe(`postgres://127.0.0.1/test?password=${REDACTED}&sslmode=require`);
    expect(redactUrl('mqtt://127.0.0.1:1884')).toBe('mqtt://127.0.0.1:1884');
    expect(splitUrlCredentials('mqtt://127.0.0.1:1884')).toEqual({ url: 'mqtt://127.0.0.1:1884', username: undefined, password: undefined });
    // not parseable as a URL: still no password
    expect(redactUrl('mqtt://dev:pa ss@wo rd@host:1')).toBe(`mqtt://dev:${REDACTED}@host:1`);
  });
});

describe('secret files and variables', () => {
  it('read a secret file without its trailing newline, and refuse empty or multi-line ones without quoting them', () => {
    expect(readSecretFile(file('one', 's3cret\n'), '--f')).toBe('s3cret');
    expect(readSecretFile(file('crlf', 's3cret\r\n'), '--f')).toBe('s3cret');
    expect(() => readSecretFile(file('empty', '\n'), '--f')).toThrow('--f: secret file');
    const twoLines = file('two', 'line-one-secret\nline-two-secret\n');
    expect(() => readSecretFile(twoLines, '--f')).toThrow('has more than one line');
    let message = '';
    try {
      readSecretFile(twoLines, '--f');
    } catch (error) {
      message = errorMessage(error);
    }
    expect(message).not.toContain('line-one-secret');
    expect(() => readSecretFile(path.join(dir, 'missing'), '--f')).toThrow(`--f: cannot read secret file ${path.join(dir, 'missing')} (ENOENT)`);
  });

  it('take the flag\'s file first, then $NAME_FILE, then $NAME', () => {
    const flagFile = file('flag', 'from-flag\n');
    const envFile = file('env', 'from-env-file\n');
    const env = { SLUICE_X: 'from-env', SLUICE_X_FILE: envFile };
    expect(readSecret({ file: { path: flagFile, flag: '--x-file' }, envVar: 'SLUICE_X', env })).toBe('from-flag');
    expect(readSecret({ envVar: 'SLUICE_X', env })).toBe('from-env-file');
    expect(readSecret({ envVar: 'SLUICE_X', env: { SLUICE_X: 'from-env' } })).toBe('from-env');
    expect(readSecret({ envVar: 'SLUICE_X', env: { SLUICE_X: '' } })).toBeUndefined();
  });

  it('give a service its MQTT login from flags, environment or URL, and hand on a URL without credentials', () => {
    const passwordFile = file('ingest.password', 'pw-from-file\n');
    expect(resolveMqttLogin({ mqttUrl: 'mqtt://127.0.0.1:1885', mqttUsername: 'ingest', mqttPasswordFile: passwordFile }, {})).toEqual({
      url: 'mqtt://127.0.0.1:1885', username: 'ingest', password: 'pw-from-file', ca: undefined,
    });
    expect(resolveMqttLogin({ mqttUrl: 'mqtt://127.0.0.1:1885' }, { SLUICE_MQTT_USERNAME: 'ingest', SLUICE_MQTT_PASSWORD: 'pw-from-env' })).toMatchObject({ username: 'ingest', password: 'pw-from-env' });
    expect(resolveMqttLogin({ mqttUrl: 'mqtt://ingest:pw%2Furl@127.0.0.1:1885' }, {})).toEqual({ url: 'mqtt://127.0.0.1:1885', username: 'ingest', password: 'pw/url', ca: undefined });
    // flags win over the URL's credentials
    expect(resolveMqttLogin({ mqttUrl: 'mqtt://old:old@127.0.0.1:1885', mqttUsername: 'ingest', mqttPasswordFile: passwordFile }, {})).toMatchObject({ url: 'mqtt://127.0.0.1:1885', username: 'ingest', password: 'pw-from-file' });
    expect(() => resolveMqttLogin({ mqttUrl: 'mqtt://127.0.0.1:1885' }, { SLUICE_MQTT_PASSWORD: 'pw' })).toThrow('--mqtt-username: a password was given but no user name');
    expect(() => resolveMqttLogin({ mqttUrl: 'mqtt://127.0.0.1:1885', mqttCaFile: path.join(dir, 'nope.crt') }, {})).toThrow('--mqtt-ca-file: cannot read');
  });
});

describe('mqtt.js debug output, which prints CONNECT packets with their password', () => {
  it.each([
    ['mqttjs*', true],
    ['*', true],
    ['express:*,mqttjs:client', true],
    ['mqttjs:* -mqttjs:client', false],
    ['express:*', false],
    ['', false],
  ])('is on for DEBUG=%j: %s', (value, on) => {
    expect(debugPrintsMqttPasswords({ DEBUG: value })).toBe(on);
  });
});

describe('the device credentials file', () => {
  test.prop([fc.dictionary(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/), fc.string({ minLength: 1, maxLength: 30 }), { minKeys: 1, maxKeys: 20 })])(
    'reads back what was written, mode 0600',
    (devices) => {
      const target = path.join(dir, 'devices.json');
      writeMqttCredentials(target, new Map(Object.entries(devices)));
      expect(fileMode(target)).toBe(0o600);
      expect(Object.fromEntries(readMqttCredentials(target))).toEqual(devices);
    },
  );

  it('refuses a file that is not one, without quoting its content', () => {
    const broken = file('broken.json', '{"format":"sluice.mqtt-credentials/1","devices":{"dev-1":"topsecret-value"');
    let message = '';
    try {
      readMqttCredentials(broken, '--credentials');
    } catch (error) {
      message = errorMessage(error);
    }
    expect(message).toBe(`--credentials: ${broken} is not valid JSON`);
    expect(() => readMqttCredentials(file('other.json', '{"devices":{}}'), '--credentials')).toThrow('is not a sluice.mqtt-credentials/1 file');
    expect(() => readMqttCredentials(file('badid.json', '{"format":"sluice.mqtt-credentials/1","devices":{"a/b":"x"}}'), '--credentials')).toThrow('device id "a/b" is not valid');
  });
});

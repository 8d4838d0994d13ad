/**
 * A private CA and a server certificate for the secured Mosquitto's TLS listener, made with the
 * machine's `openssl` (Node can verify certificates but not issue them). ECDSA P-256, SAN
 * `DNS:localhost, IP:127.0.0.1` (plus any extra names), serverAuth only. The CA's private key
 * lives only in a temporary directory while it signs and is then deleted: nobody can issue
 * further certificates under this CA; provisioning again makes a new CA.
 *
 * Clients trust `ca.crt` (simulate --mqtt-ca-file, ingest --mqtt-ca-file) and verify the
 * server's name as usual; nothing turns verification off.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../core/errors';
import { findExecutable } from '../infra/processControl';
import { PRIVATE_FILE_MODE, PUBLIC_FILE_MODE } from './privateFiles';

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
  caCertificate: string;
  serverCertificate: string;
  serverKey: string;
}

export interface TlsCertificateOptions {
  /** extra DNS names or IP addresses for the server certificate */
  hosts?: readonly string[];
  days?: number;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const IP_ADDRESS = /^(\d{1,3}\.){3}\d{1,3}$|:/;
const HOST_NAME = /^[A-Za-z0-9.:-]+$/;

async function openssl(tool: string, args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync(tool, args, { cwd });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-3).join(' ');
    throw new SluiceError('UNKNOWN', `openssl ${args[0] ?? ''} failed: ${stderr}`, { cause: error });
  }
}

/** Makes a CA and a server certificate signed by it; returns the PEM texts (the CA key is gone). */
export async function createTlsMaterial(options: TlsCertificateOptions = {}): Promise<TlsMaterial> {
  const tool = findExecutable('openssl');
  if (tool === undefined) throw new SluiceError('SERVICE_UNAVAILABLE', 'openssl is not installed; it is needed for --tls (Debian: apt-get install openssl)', { retriable: false });
  const hosts = [...new Set(['localhost', '127.0.0.1', ...(options.hosts ?? [])])];
  for (const host of hosts) {
    if (!HOST_NAME.test(host)) throw new SluiceError('CONFIG_INVALID', `TLS host ${JSON.stringify(host)}: must be a DNS name or an IP address`);
  }
  const days = String(options.days ?? 825); // the longest validity Apple's TLS clients accept
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-tls-'));
  try {
    const san = hosts.map((host) => (IP_ADDRESS.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
    fs.writeFileSync(
      path.join(work, 'server.ext'),
      `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await openssl(tool, ['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', '/CN=sluice local MQTT CA',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], work);
    await openssl(tool, ['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], work);
    await openssl(tool, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', days, '-extfile', 'server.ext', '-out', 'server.crt'], work);
    const read = (name: string): string => fs.readFileSync(path.join(work, name), 'utf8');
    return { caCertificate: read('ca.crt'), serverCertificate: read('server.crt'), serverKey: read('server.key') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export const TLS_FILE_MODES = { caCertificate: PUBLIC_FILE_MODE, serverCertificate: PUBLIC_FILE_MODE, serverKey: PRIVATE_FILE_MODE } as const;

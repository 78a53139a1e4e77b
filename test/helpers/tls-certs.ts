/**
 * A throwaway certificate authority made with Debian's `openssl` at test time, and server
 * certificates it signs for 127.0.0.1 / localhost with a serial number chosen by the test
 * (so a test can tell which certificate a TLS connection was given).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** The serial as Node reports it (`getPeerCertificate().serialNumber`): upper-case hex. */
  readonly serial: string;
}

export interface TestCa {
  readonly dir: string;
  /** The CA certificate (PEM file) clients trust. */
  readonly caFile: string;
  /** A new key and a certificate for 127.0.0.1 and localhost signed by this CA, with `serial` (hex digits). */
  issue(name: string, serial: string): Promise<ServerCert>;
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTestCa(): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'xcapb-tls-'));
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', ...EC, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=xcap-bridge test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return {
    dir,
    caFile,
    async issue(name, serial) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      await run('openssl', ['req', ...EC, '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${serial}`, '-days', '2', '-extfile', ext, '-out', certFile]);
      return { certFile, keyFile, serial: serial.toUpperCase() };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The HTTPS listener (`server.tls`) of a real `serve` process, with certificates made by
 * openssl at test time: curl and Node's fetch trusting the test CA read and write XCAP over
 * it; SIGHUP (to the primary with --workers) puts a new certificate in service for new
 * connections while an open keep-alive connection keeps working; a broken file on SIGHUP
 * keeps the certificate in service and the error names the file.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { contacts, RL_TYPE } from './helpers.ts';
import { makeTestCa, type ServerCert, type TestCa } from '../helpers/tls-certs.ts';

const run = promisify(execFile);
const DOC = '/resource-lists/users/sip:alice@example.com/index';
const BASIC = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`;

/** The serial of the certificate a new TLS connection to `port` is given (verified against `ca`). */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

/** GET `url` through `agent`: the status, the serial of the connection's certificate, and whether the connection was reused. */
function getVia(agent: Agent, url: string): Promise<{ status: number; serial: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, serial, reused: req.reusedSocket }));
    });
    req.once('error', reject);
    req.end();
  });
}

let ca: TestCa;
let one: ServerCert;
let two: ServerCert;
let caPem: Buffer;

beforeAll(async () => {
  ca = await makeTestCa();
  [one, two] = await Promise.all([ca.issue('one', '1001'), ca.issue('two', '1002')]);
  caPem = readFileSync(ca.caFile);
});
afterAll(() => ca?.remove());

for (const workers of [1, 2]) {
  describe(`serve --workers ${workers} with server.tls`, () => {
    const store = tempData();
    const liveCert = join(store.data, 'live.pem');
    const liveKey = join(store.data, 'live.key');
    let server: ServeProcess;
    let port: number;
    /** Reload lines logged so far: each HTTP process logs one per SIGHUP. */
    let reloads = 0;

    const install = (c: ServerCert) => {
      copyFileSync(c.certFile, liveCert);
      copyFileSync(c.keyFile, liveKey);
    };
    const hangup = async (ok: boolean) => {
      const before = server.output().split('\n').filter((l) => l.includes('TLS certificate not reloaded')).length;
      // To the PID, as an operator does (ChildProcess.kill would also mark the child as killed, and stop() would not send SIGTERM).
      process.kill(server.proc.pid as number, 'SIGHUP');
      if (ok) {
        reloads += workers;
        await server.logged('TLS certificate reloaded', reloads);
      } else await server.logged('TLS certificate not reloaded', before + 1);
    };

    beforeAll(async () => {
      install(one);
      const cfg = join(store.data, 'cfg.yaml');
      // Relative paths: resolved against the config file's directory.
      writeFileSync(cfg, 'server:\n  tls: { certFile: live.pem, keyFile: live.key }\n');
      await addUser(store, 'sip:alice@example.com', 'alice-secret');
      // Basic over plain HTTP stays off: what Basic does here, it does because the connection is TLS.
      server = await startServe(store, ['--workers', String(workers), '--config', cfg], { XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'false' });
      await server.logged('serving XCAP at', workers);
      // The primary forwards SIGHUP to the workers it knows listen.
      if (workers > 1) await server.logged('primary: every HTTP worker listens', 1);
      port = Number(new URL(server.url).port);
    });
    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
      store.remove();
    });

    it('serves https:// to curl (Digest) and to Node fetch (Basic), both trusting the test CA; a client without the CA refuses the certificate', async () => {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/xcap-root$/);
      const body = join(store.data, 'contacts.xml');
      writeFileSync(body, contacts());
      const put = await run('curl', ['-sS', '--cacert', ca.caFile, '--digest', '-u', 'alice:alice-secret', '-X', 'PUT', '-H', `Content-Type: ${RL_TYPE}`, '--data-binary', `@${body}`, '-o', '/dev/null', '-w', '%{http_code}', server.url + DOC]);
      expect(put.stdout).toBe('201');
      const got = await run('curl', ['-sS', '--cacert', ca.caFile, '--digest', '-u', 'alice:alice-secret', server.url + DOC]);
      expect(got.stdout).toBe(contacts());

      // Node's fetch in its own process, trusting the CA the way an operator's script would.
      const script = `const u = process.argv[1], h = { Authorization: process.argv[2] };
        const put = await fetch(u, { method: 'PUT', headers: { ...h, 'Content-Type': '${RL_TYPE}' }, body: process.argv[3] });
        const get = await fetch(u, { headers: h });
        console.log(JSON.stringify({ put: put.status, get: get.status, body: await get.text() }));`;
      const edited = contacts().replace('bob', 'robert');
      const out = await run(process.execPath, ['--input-type=module', '-e', script, server.url + DOC, BASIC, edited], { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile } });
      expect(JSON.parse(out.stdout)).toEqual({ put: 200, get: 200, body: edited });

      const untrusted = await run('curl', ['-sS', '--digest', '-u', 'alice:alice-secret', server.url + DOC]).catch((e: { code: number }) => e);
      expect((untrusted as { code: number }).code).toBe(60); // curl: peer certificate cannot be authenticated
    });

    it('SIGHUP: new connections get the new certificate, an open keep-alive connection keeps working', async () => {
      expect(await servedSerial(port, caPem)).toBe(one.serial);
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
      try {
        const first = await getVia(agent, `https://127.0.0.1:${port}/healthz`);
        expect(first).toMatchObject({ status: 200, serial: one.serial });
        install(two);
        await hangup(true);
        // Every HTTP process has reloaded: any new connection, whichever worker takes it, gets the new one.
        for (let i = 0; i < 2 * workers; i++) expect(await servedSerial(port, caPem)).toBe(two.serial);
        expect(await getVia(agent, `https://127.0.0.1:${port}/healthz`)).toEqual({ status: 200, serial: one.serial, reused: true });
      } finally {
        agent.destroy();
      }
    });

    it('SIGHUP with a broken certificate, or a key of another certificate, keeps the one in service and names the file', async () => {
      install(two);
      await hangup(true);
      writeFileSync(liveCert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
      await hangup(false);
      expect(server.output()).toContain(`${liveCert}: not a PEM certificate`);
      for (let i = 0; i < 2 * workers; i++) expect(await servedSerial(port, caPem)).toBe(two.serial);

      copyFileSync(one.certFile, liveCert); // the certificate of "one" with the key of "two"
      await hangup(false);
      expect(server.output()).toContain(`${liveKey}: is not the key of the certificate in ${liveCert}`);
      expect(await servedSerial(port, caPem)).toBe(two.serial);

      install(one);
      await hangup(true);
      for (let i = 0; i < 2 * workers; i++) expect(await servedSerial(port, caPem)).toBe(one.serial);
    });
  });
}

describe('serve without server.tls', () => {
  it('SIGHUP to the primary does not stop it: it says there is nothing to reload and keeps serving', async () => {
    const store = tempData();
    const server = await startServe(store, ['--workers', '2']);
    try {
      await server.logged('primary: every HTTP worker listens', 1);
      process.kill(server.proc.pid as number, 'SIGHUP');
      await server.logged('SIGHUP: server.tls is not set, no certificate to reload', 1);
      expect((await fetch(`${new URL(server.url).origin}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
      store.remove();
    }
  });
});

describe('serve with unusable server.tls files', () => {
  it('does not start: exit 2 and the file named', async () => {
    const store = tempData();
    try {
      const cfg = join(store.data, 'cfg.yaml');
      writeFileSync(cfg, 'server:\n  tls: { certFile: missing.pem, keyFile: missing.key }\n');
      const err = await startServe(store, ['--config', cfg]).catch((e: unknown) => e as Error);
      expect((err as Error).message).toMatch(/exited with 2/);
      expect((err as Error).message).toContain(`server.tls: ${join(store.data, 'missing.pem')}: cannot be read (ENOENT)`);
    } finally {
      store.remove();
    }
  });
});

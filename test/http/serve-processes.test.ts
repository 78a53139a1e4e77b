/**
 * Real `serve` processes: atomic conditional writes across two processes on one PostgreSQL
 * (RFC 4825 §7.11: of 20 If-Match PUTs with the same ETag exactly one wins), and SIGTERM
 * draining a request in flight before exiting 0.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshPostgresDatabase } from '../services/databases.ts';
import { basicHeader, rawRequest, XcapClient } from '../helpers/digest-client.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { ALICE_RL, contacts, RL_TYPE } from './helpers.ts';

const CREDS = { username: 'alice', password: 'alice-secret' };

/** The access-log lines in a server's output, parsed. */
function requestLines(output: string): Array<{ reqId: string; status: number; ms: number; sampled?: number } & Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as { reqId: string; status: number; ms: number; sampled?: number });
}

describe('RFC 4825 §7.11 across two serve processes on one PostgreSQL', () => {
  let a: ServeProcess;
  let b: ServeProcess;
  beforeAll(async () => {
    const store = { databaseUrl: await freshPostgresDatabase(inject('services').postgres, 'twoproc') };
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    [a, b] = await Promise.all([startServe(store), startServe(store)]);
  });
  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it('20 concurrent If-Match PUTs of one ETag split across both: exactly one succeeds, 19 get 412', async () => {
    const ca = new XcapClient(a.url, CREDS);
    const first = await ca.put(ALICE_RL, contacts(), RL_TYPE);
    expect(first.status).toBe(201);
    const etag = first.headers.get('etag') as string;
    // Each writer is a phone with its own Digest session, primed so the PUTs race each other.
    const writers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const c = new XcapClient(i % 2 === 0 ? a.url : b.url, CREDS);
        expect((await c.get(ALICE_RL)).headers.get('etag')).toBe(etag);
        return c;
      }),
    );
    const results = await Promise.all(
      writers.map((c, i) => c.put(ALICE_RL, contacts().replace('Bob', `Writer${i}`), RL_TYPE, { 'If-Match': etag })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(19);
    const winner = results.findIndex((r) => r.status === 200);
    // Both processes now serve the winner's document under the winner's ETag.
    for (const url of [a.url, b.url]) {
      const get = await new XcapClient(url, CREDS).get(ALICE_RL);
      expect(get.body).toBe(contacts().replace('Bob', `Writer${winner}`));
      expect(get.headers.get('etag')).toBe(results[winner]!.headers.get('etag'));
    }
  });
});

describe('serve --workers 2 without auth.nonceSecret: the workers share one nonce secret', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    server = await startServe(store, ['--workers', '2']);
    await server.logged('serving XCAP at', 2);
    const put = await new XcapClient(server.url, CREDS).put(ALICE_RL, contacts(), RL_TYPE);
    expect(put.status, put.body).toBe(201);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
  });

  it('20 Digest logins, every request on a new connection (as urllib does), all succeed', async () => {
    // The cluster hands connections to the workers in turn, so the challenge and the
    // answer of one login reach different workers.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await new XcapClient(server.url, CREDS).get(ALICE_RL, { Connection: 'close' });
      statuses.push(r.status);
    }
    expect(statuses).toEqual(Array(20).fill(200));
    // The generated secret (64 hex digits) is never logged.
    expect(server.output()).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe('serve: SIGTERM drains a request in flight, then exits 0', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    server = await startServe(store);
  });
  afterAll(() => store.remove());

  it('a PUT whose body is still arriving at SIGTERM completes with 201 and is stored', async () => {
    const body = contacts();
    const u = new URL(server.url + ALICE_RL);
    const response = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method: 'PUT',
          path: u.pathname,
          headers: {
            'Content-Type': RL_TYPE,
            'Content-Length': Buffer.byteLength(body),
            Authorization: basicHeader(CREDS),
            // The server's 100 Continue proves it has the request: from then on it is in flight.
            Expect: '100-continue',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.on('continue', () => {
        server.proc.kill('SIGTERM');
        // Send the body only once the process says it is draining.
        void server.logged('shutting down', 1).then(() => req.end(body));
      });
    });
    expect(await response).toBe(201);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/"status":201/);
    // The write is durable: a new process on the same data serves it.
    const again = await startServe(store);
    try {
      const get = await new XcapClient(again.url, CREDS).get(ALICE_RL);
      expect(get.status).toBe(200);
      expect(get.body).toBe(body);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

describe('serve: an access line per request (log.requests: all)', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    const cfg = join(store.data, 'xcap-bridge.yaml');
    writeFileSync(cfg, 'log: { requests: all }\n');
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    server = await startServe(store, ['--config', cfg]);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
  });

  it('each answer has its line, with the X-Request-Id it was given, method, URL as requested, status and time', async () => {
    const c = new XcapClient(server.url, CREDS, { mode: 'basic' });
    const answers = [await c.put(ALICE_RL, contacts(), RL_TYPE), await c.get(ALICE_RL), await c.get(`${ALICE_RL}/~~/resource-lists/list%5B@name=%22nope%22%5D`), await c.delete(ALICE_RL)];
    const ids = answers.map((r) => r.headers.get('x-request-id') as string);
    // Lines are written in chunks (at least every second): wait for the last one.
    await server.logged(`"reqId":"${ids[3]}"`, 1);
    const lines = requestLines(server.output());
    const path = new URL(server.url).pathname + ALICE_RL;
    expect(lines.map(({ level, reqId, method, url, status, msg }) => ({ level, reqId, method, url, status, msg }))).toEqual([
      { level: 30, reqId: ids[0], method: 'PUT', url: path, status: 201, msg: 'request' },
      { level: 30, reqId: ids[1], method: 'GET', url: path, status: 200, msg: 'request' },
      { level: 30, reqId: ids[2], method: 'GET', url: `${path}/~~/resource-lists/list%5B@name=%22nope%22%5D`, status: 404, msg: 'request' },
      { level: 30, reqId: ids[3], method: 'DELETE', url: path, status: 200, msg: 'request' },
    ]);
    for (const l of lines) {
      expect(typeof l.ms).toBe('number');
      expect(typeof l.time).toBe('number');
      // The pid of the process that answered, which named the request id after itself.
      expect((l.pid as number).toString(36)).toBe((l.reqId as string).split('-')[0]);
    }
  });

  it('every answer carries its X-Request-Id, the one its line has: the 401 challenge, 304, 400, 404 and 413 too', async () => {
    const c = new XcapClient(server.url, CREDS, { mode: 'basic' });
    const put = await c.put(ALICE_RL, contacts(), RL_TYPE);
    expect(put.status).toBe(201);
    const origin = new URL(server.url).origin;
    const answers = [
      await rawRequest('GET', server.url + ALICE_RL, {}),
      await c.get(ALICE_RL, { 'If-None-Match': put.headers.get('etag') as string }),
      await c.get(`${ALICE_RL}/~~/resource-lists/list%5B`),
      await c.get('/no-such-usage/users/sip:alice@example.com/index'),
      await c.put(ALICE_RL, Buffer.alloc(1024 * 1024 + 1, 'a'), RL_TYPE),
      // The client's own id is kept.
      await rawRequest('GET', server.url + ALICE_RL, { 'X-Request-Id': 'phone-42' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 304, 400, 404, 413, 401]);
    const ids = answers.map((r) => r.headers.get('x-request-id'));
    expect(ids[5]).toBe('phone-42');
    // Each worker writes its lines in chunks (at least every second): wait for every one.
    for (const id of ids) await server.logged(`"reqId":"${id}"`, 1);
    const statusById = new Map(requestLines(server.output()).map((l) => [l.reqId, l.status]));
    expect(ids.map((id) => statusById.get(id as string))).toEqual([401, 304, 400, 404, 413, 401]);
    // Outside the XCAP root (probes, admin API, unknown paths) answers are named as well.
    const outside = await Promise.all([rawRequest('GET', `${origin}/no-such-path`, {}), rawRequest('GET', `${origin}/admin/users`, {})]);
    expect(outside.map((r) => r.status)).toEqual([404, 401]);
    for (const r of outside) expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-z]+-[0-9a-z]+$/);
  });

  it('a request the HTTP parser refuses is answered 400 (431 for oversized headers) with an X-Request-Id that its line has', async () => {
    const { hostname, port } = new URL(server.url);
    const raw = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(Number(port), hostname);
        let got = '';
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('close', () => resolve(got));
        sock.on('error', reject);
        sock.end(bytes);
      });
    const answers = [
      await raw(`GET ${ALICE_RL} HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n`),
      await raw(`GET ${ALICE_RL} HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    ];
    expect(answers.map((a) => a.split('\r\n')[0])).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 431 Request Header Fields Too Large']);
    const ids = answers.map((a) => /\r\nX-Request-Id: (\S+)\r\n/.exec(a)?.[1]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]+-[0-9a-z]+$/);
    expect(answers[0]).toMatch(/\r\n\r\nmalformed HTTP request\n$/);
    for (const id of ids) await server.logged(`"reqId":"${id}"`, 1);
    const statusById = new Map(requestLines(server.output()).map((l) => [l.reqId, l.status]));
    expect(ids.map((id) => statusById.get(id as string))).toEqual([400, 431]);
  });
});

describe('serve --workers 1, log: { sampleReads: 10 }: which requests get a line by default (log.requests: sampled)', () => {
  it('every write and error; of 100 successful reads (200 and 304) the 1st, 11th, ... 91st (and any slow one); with requests: all every one', async () => {
    const linesOf = async (requests: string | undefined) => {
      const store = tempData();
      const cfg = join(store.data, 'xcap-bridge.yaml');
      writeFileSync(cfg, `log: { sampleReads: 10${requests === undefined ? '' : `, requests: ${requests}`} }\n`);
      await addUser(store, 'sip:alice@example.com', 'alice-secret');
      const server = await startServe(store, ['--workers', '1', '--config', cfg]);
      try {
        const c = new XcapClient(server.url, CREDS, { mode: 'basic' });
        const put = await c.put(ALICE_RL, contacts(), RL_TYPE);
        const reads: string[] = [];
        for (let i = 0; i < 100; i++) {
          const r = i % 2 === 0 ? await c.get(ALICE_RL) : await c.get(ALICE_RL, { 'If-None-Match': put.headers.get('etag') as string });
          expect(r.status).toBe(i % 2 === 0 ? 200 : 304);
          reads.push(r.headers.get('x-request-id') as string);
        }
        const missing = await c.get(`${ALICE_RL}/~~/resource-lists/list%5B@name=%22nope%22%5D`);
        expect(missing.status).toBe(404);
        const ids = { put: put.headers.get('x-request-id') as string, reads, missing: missing.headers.get('x-request-id') as string };
        await server.logged(`"reqId":"${ids.missing}"`, 1);
        const lines = requestLines(server.output());
        return { ids, lines };
      } finally {
        expect(await server.stop()).toBe(0);
        store.remove();
      }
    };
    const sampled = await linesOf(undefined);
    // A read of 100 ms or more (a loaded machine) has its line too, without "sampled".
    const quick = sampled.lines.filter((l) => !(l.sampled === undefined && sampled.ids.reads.includes(l.reqId) && l.ms >= 100));
    expect(quick.map((l) => [l.reqId, l.sampled])).toEqual([
      [sampled.ids.put, undefined],
      ...sampled.ids.reads.filter((_, i) => i % 10 === 0).map((id) => [id, 10]),
      [sampled.ids.missing, undefined],
    ]);
    const all = await linesOf('all');
    expect(all.lines.map((l) => [l.reqId, l.sampled])).toEqual([all.ids.put, ...all.ids.reads, all.ids.missing].map((id) => [id, undefined]));
  });
});

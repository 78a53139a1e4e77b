/**
 * `serve` with two HTTP workers writes its log in batches (log.flushMs) to one shared pipe:
 * after a burst of requests every request has its line, whole (the workers' batches never
 * cut into each other's lines), and what is still held when SIGTERM arrives is written
 * before the processes exit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XcapClient } from '../helpers/digest-client.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { ALICE_RL, contacts, RL_TYPE } from './helpers.ts';

const CREDS = { username: 'alice', password: 'alice-secret' };

/** `count` GETs of alice's document over `parallel` keep-alive clients; the X-Request-Id of each answer. */
async function burst(url: string, count: number, parallel: number): Promise<string[]> {
  const ids: string[] = [];
  let sent = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      const c = new XcapClient(url, CREDS, { mode: 'basic' });
      while (sent < count) {
        sent++;
        const r = await c.get(ALICE_RL);
        expect(r.status).toBe(200);
        ids.push(r.headers.get('x-request-id') as string);
      }
    }),
  );
  return ids;
}

/** The request ids of the output's request lines; every JSON log line in it must parse whole. */
function loggedIds(output: string): string[] {
  const lines = output.split('\n').filter((l) => l.includes('"level":'));
  const parsed = lines.map((l) => JSON.parse(l) as { msg: string; reqId: string });
  return parsed.filter((l) => l.msg === 'request').map((l) => l.reqId);
}

async function startWithDocument(flushMs: number | undefined): Promise<{ server: ServeProcess; putId: string; remove: () => void }> {
  const store = tempData();
  // Every request's line (not the default sampled reads), so each GET has one to find.
  const cfg = join(store.data, 'xcap-bridge.yaml');
  writeFileSync(cfg, `log: { requests: all${flushMs === undefined ? '' : `, flushMs: ${flushMs}`} }\n`);
  const args = ['--workers', '2', '--config', cfg];
  await addUser(store, 'sip:alice@example.com', 'alice-secret');
  const server = await startServe(store, args);
  await server.logged('serving XCAP at', 2);
  const put = await new XcapClient(server.url, CREDS, { mode: 'basic' }).put(ALICE_RL, contacts(), RL_TYPE);
  expect(put.status, put.body).toBe(201);
  return { server, putId: put.headers.get('x-request-id') as string, remove: store.remove };
}

describe('serve --workers 2, log.requests: all, log.flushMs default: a burst of 1,000 GETs', () => {
  let s: Awaited<ReturnType<typeof startWithDocument>>;
  beforeAll(async () => {
    s = await startWithDocument(undefined);
  });
  afterAll(async () => {
    expect(await s.server.stop()).toBe(0);
    s.remove();
  });

  it('every answer has exactly one whole line in the shared output, without waiting for a stop', async () => {
    const ids = await burst(s.server.url, 1000, 16);
    expect(new Set(ids).size).toBe(1000);
    // The PUT's line and the 1,000 GETs' (batches of ~64 KB go out in pieces of whole lines).
    await s.server.logged('"msg":"request"', 1001);
    const logged = loggedIds(s.server.output());
    expect(logged).toHaveLength(1001);
    expect(new Set(logged)).toEqual(new Set([s.putId, ...ids]));
  });
});

describe('serve --workers 2, log.flushMs: 60000: lines still held at SIGTERM', () => {
  it('are written before the processes exit: every request of the burst has its line', async () => {
    const { server, remove } = await startWithDocument(60000);
    try {
      // Fewer lines than a batch holds: none of them has a reason to be written before the stop.
      const ids = await burst(server.url, 100, 4);
      expect(await server.stop()).toBe(0);
      const logged = loggedIds(server.output());
      for (const id of ids) expect(logged.filter((l) => l === id)).toHaveLength(1);
      expect(server.output()).toContain('"msg":"stopped"');
    } finally {
      await server.stop();
      remove();
    }
  });
});

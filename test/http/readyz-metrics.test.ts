/**
 * /readyz and /metrics on the running gateway (src/http/probes.ts, src/metrics/): readiness
 * says which dependency is missing and why (503), and each binding's last run, lag and
 * error; Prometheus sees requests by method, auid and status with latencies, stored
 * documents and users, sync runs, items, errors and conflicts by binding, the queue, and
 * process metrics. The cases with sync running run against a single Redis and against a
 * 6-node Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Unavailable } from '../../connectors/errors.ts';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import { rawRequest } from '../helpers/digest-client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';
import { freePort } from '../services/process.ts';
import { DIRECTORY_BINDING } from './admin-helpers.ts';
import { ALICE_RL, RL_NS, RL_TYPE } from './helpers.ts';
import { families, sample } from './prometheus.ts';

interface Ready {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; reason: string | null }>;
  bindings: Array<{ binding: string; documents: number; lastRunAt: number | null; lastOkAt: number | null; lagSeconds: number | null; failing: number; lastError: { scope: string; message: string } | null; stale: boolean }>;
}

async function readyz(gw: TestGateway): Promise<{ status: number; body: Ready }> {
  const r = await rawRequest('GET', `${gw.origin}/readyz`, {});
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: r.status, body: JSON.parse(r.body) as Ready };
}

async function metrics(gw: TestGateway): Promise<string> {
  const r = await rawRequest('GET', `${gw.origin}/metrics`, {});
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.body;
}

/** Alice's index with the bound list `directory`: Bob, Carol, Erin. */
function directory(bob = 'Bob'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="directory">` +
    `<entry uri="sip:bob@example.com"><display-name>${bob}</display-name></entry>` +
    '<entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>' +
    '<entry uri="sip:erin@example.com"><display-name>Erin</display-name></entry></list></resource-lists>';
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('/readyz', () => {
  it('without bindings: ready when the store answers; Redis is not checked', async () => {
    const gw = await startTestGateway();
    try {
      const { status, body } = await readyz(gw);
      expect(status).toBe(200);
      expect(body).toEqual({ ready: true, checks: [{ name: 'store', ok: true, reason: null }], bindings: [] });
    } finally {
      await gw.stop();
    }
  });

  // Single Redis only: what it checks is how a `redis.url` with a password is named.
  it('with bindings and Redis unreachable: 503 naming Redis (password hidden), each binding listed', async () => {
    const port = await freePort();
    const gw = await startTestGateway({
      config: { redis: { url: `redis://:hunter2@127.0.0.1:${port}` }, connectors: { mem: { kind: 'memory', collections: ['people'] } }, bindings: [DIRECTORY_BINDING] },
    });
    try {
      const { status, body } = await readyz(gw);
      expect(status).toBe(503);
      expect(body.ready).toBe(false);
      expect(body.checks[0]).toEqual({ name: 'store', ok: true, reason: null });
      const redis = body.checks[1];
      expect(redis).toMatchObject({ name: 'redis', ok: false });
      expect(redis?.reason).toContain(`127.0.0.1:${port}`);
      expect(redis?.reason).toContain('sync is off, XCAP keeps serving');
      expect(redis?.reason).not.toContain('hunter2');
      expect(body.bindings).toMatchObject([{ binding: 'directory', documents: 0, lastRunAt: null, lastError: null, stale: false }]);
      // Not ready for sync, yet XCAP answers.
      expect((await gw.client().get('/xcap-caps/global/index')).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describeEachRedis((redis) => {
  describe('/readyz and /metrics with sync running (real Redis)', () => {
    let gw: TestGateway;
    let remote: MemoryConnector;
    beforeAll(async () => {
      gw = await startTestGateway({
        config: {
          redis: redisSection(await redis.target(), `metrics-${randomUUID()}`),
          connectors: { mem: { kind: 'memory', collections: ['people'] } },
          bindings: [{ ...DIRECTORY_BINDING, direction: 'both', policy: 'manual' }],
        },
      });
      remote = gw.gateway.sync?.connectors.get('mem') as MemoryConnector;
    });
    afterAll(() => gw.stop());

    it('ready; a run shows as the last run of its binding, a failing one with its error', async () => {
      const alice = gw.client();
      expect((await alice.put(ALICE_RL, directory(), RL_TYPE)).status).toBe(201);
      await until(async () => (await readyz(gw)).body.bindings[0]?.lastOkAt != null, 'the first sync run');
      const ok = await readyz(gw);
      expect(ok.status).toBe(200);
      expect(ok.body.checks).toEqual([{ name: 'store', ok: true, reason: null }, { name: 'redis', ok: true, reason: null }]);
      expect(ok.body.bindings[0]).toMatchObject({ binding: 'directory', documents: 1, failing: 0, lastError: null });
      expect(ok.body.bindings[0]?.lagSeconds).toBeGreaterThanOrEqual(0);

      // Three attempts fail (the job retries with backoff: 1 s, 2 s, 4 s), then the directory is back.
      remote.failNext('any', new Unavailable('directory server down'), 3);
      expect((await alice.put(ALICE_RL, directory('Bobby'), RL_TYPE)).status).toBe(200);
      await until(async () => (await readyz(gw)).body.bindings[0]?.failing === 1, 'the failed run');
      const failing = await readyz(gw);
      // A binding that fails keeps the process ready: XCAP serves from its own store.
      expect(failing.status).toBe(200);
      expect(failing.body.bindings[0]?.lastError).toMatchObject({ scope: 'sip:alice@example.com' });
      expect(failing.body.bindings[0]?.lastError?.message).toContain('directory server down');
      await until(async () => (sample(await metrics(gw), 'xcap_bridge_sync_errors_total', { binding: 'directory' }) ?? 0) >= 1, 'the error counted');
    });

    it('/metrics: requests by method, auid and status with latencies; documents, users; sync counts; queue; process', async () => {
      const before = await metrics(gw);
      const count = (text: string, labels: Record<string, string>) => sample(text, 'xcap_bridge_http_requests_total', labels) ?? 0;
      const caps = { method: 'GET', auid: 'xcap-caps', status: '200' };
      const missing = { method: 'GET', auid: 'resource-lists', status: '404' };
      const c = gw.client();
      for (let i = 0; i < 3; i++) expect((await c.get('/xcap-caps/global/index')).status).toBe(200);
      expect((await c.get('/resource-lists/users/sip:alice@example.com/nothing')).status).toBe(404);
      const odd = await rawRequest('GET', `${gw.url}/no-such-usage/global/index`, {});
      const oddLabels = { method: 'GET', auid: 'unknown', status: String(odd.status) };
      const after = await metrics(gw);
      expect(count(after, caps) - count(before, caps)).toBe(3);
      expect(count(after, missing) - count(before, missing)).toBe(1);
      // An auid the server does not serve is one label value, whatever the client sent.
      expect(count(after, oddLabels) - count(before, oddLabels)).toBe(1);
      // A histogram per method and auid: its count is the requests counted.
      const histCount = sample(after, 'xcap_bridge_http_request_duration_seconds_count', { method: 'GET', auid: 'xcap-caps' });
      expect(histCount).toBe(count(after, caps) + count(after, { method: 'GET', auid: 'xcap-caps', status: '401' }));
      expect(sample(after, 'xcap_bridge_http_request_duration_seconds_bucket', { method: 'GET', auid: 'xcap-caps', le: '+Inf' })).toBe(histCount);

      expect(sample(after, 'xcap_bridge_documents', { auid: 'resource-lists' })).toBe(1);
      expect(sample(after, 'xcap_bridge_users')).toBe(3);
      expect(sample(after, 'xcap_bridge_sync_runs_total', { binding: 'directory', outcome: 'applied' })).toBeGreaterThanOrEqual(1);
      expect(sample(after, 'xcap_bridge_sync_items_total', { binding: 'directory', side: 'remote', op: 'create' })).toBe(3);
      expect(sample(after, 'xcap_bridge_sync_stale', { binding: 'directory' })).toBe(0);
      expect(sample(after, 'xcap_bridge_sync_open_conflicts', { binding: 'directory' })).toBe(0);
      expect(sample(after, 'xcap_bridge_queue_jobs', { state: 'waiting' })).toBeGreaterThanOrEqual(0);
      expect(sample(after, 'xcap_bridge_queue_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(families(after)).toEqual(expect.arrayContaining(['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'xcap_bridge_sync_run_duration_seconds', 'xcap_bridge_sync_lag_seconds', 'xcap_bridge_sync_conflicts_total']));
    });

    it('every metric family a scrape shows is documented in docs/troubleshooting.md, and every documented one is served', async () => {
      const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'troubleshooting.md'), 'utf8');
      const served = families(await metrics(gw));
      expect(served.length).toBeGreaterThan(40);
      expect(served.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
      const documented = [...doc.matchAll(/`((?:xcap_bridge|process|nodejs)_[a-z0-9_]+)`/g)].map((m) => m[1] as string);
      expect([...new Set(documented)].filter((name) => !served.includes(name))).toEqual([]);
    });

    it('a conflict found by a run is counted and shows as open', async () => {
      const alice = gw.client();
      // Both sides change Bob differently: under the manual policy that is a conflict.
      await until(async () => (await readyz(gw)).body.bindings[0]?.failing === 0, 'a clean run first');
      const [bob] = [...remote.snapshot('people')].find(([, f]) => f.uri === 'sip:bob@example.com') ?? [];
      expect(bob).toBeDefined();
      remote.seed('people', [{ id: bob as string, fields: { uri: 'sip:bob@example.com', 'display-name': 'Bob Remote' } }]);
      expect((await alice.put(ALICE_RL, directory('Bob Phone'), RL_TYPE)).status).toBe(200);
      await until(async () => (sample(await metrics(gw), 'xcap_bridge_sync_open_conflicts', { binding: 'directory' }) ?? 0) === 1, 'the open conflict');
      // The run records the conflict in the sync state before it ends and is counted.
      await until(async () => (sample(await metrics(gw), 'xcap_bridge_sync_conflicts_total', { binding: 'directory' }) ?? 0) >= 1, 'the counted conflict');
      expect(sample(await metrics(gw), 'xcap_bridge_sync_open_conflicts', { binding: 'directory' })).toBe(1);
    });
  });
});

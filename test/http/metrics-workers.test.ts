/**
 * /metrics with `serve --workers 2` (a real child process): whichever worker a scrape
 * reaches, it sees every worker's request counts and the primary's sync counts, and the
 * stored-state gauges once (not once per process). Against a single Redis and against a
 * 6-node Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, XcapClient } from '../helpers/digest-client.ts';
import { describeEachRedis, redisYaml } from '../helpers/redis-variants.ts';
import { ALICE_RL, RL_NS, RL_TYPE } from './helpers.ts';
import { sample } from './prometheus.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';

const CREDS = { username: 'alice', password: 'alice-secret' };

describeEachRedis((redis) => {
  describe('serve --workers 2: one scrape sees every process', () => {
    let server: ServeProcess;
    let store: { data: string; remove: () => void };
    let origin: string;
    beforeAll(async () => {
      store = tempData();
      const config = join(store.data, 'xcap-bridge.yaml');
      writeFileSync(config, [
        redisYaml(await redis.target(), `workers-metrics-${randomUUID()}`),
        'connectors:',
        '  mem: { kind: memory, collections: [people] }',
        'bindings:',
        '  - { name: directory, auid: resource-lists, target: { scope: users, document: index }, mapping: { kind: resource-lists, list: directory }, connector: mem, collection: people, direction: push }',
        '',
      ].join('\n'));
      await addUser(store, 'sip:alice@example.com', 'alice-secret');
      server = await startServe(store, ['--workers', '2', '--config', config]);
      await server.logged('serving XCAP at', 2);
      origin = new URL(server.url).origin;
    });
    afterAll(async () => {
      expect(await server.stop()).toBe(0);
      store.remove();
    });

    const scrape = async () => {
      // A new connection each time: the cluster hands connections to the workers in turn.
      const r = await rawRequest('GET', `${origin}/metrics`, { Connection: 'close' });
      expect(r.status).toBe(200);
      return r.body;
    };

    it('request counts of both workers in every scrape; sync counts of the primary; documents counted once', async () => {
      for (let i = 0; i < 10; i++) {
        const r = await new XcapClient(server.url, CREDS).get('/xcap-caps/global/index', { Connection: 'close' });
        expect(r.status).toBe(200);
      }
      for (let i = 0; i < 4; i++) {
        expect(sample(await scrape(), 'xcap_bridge_http_requests_total', { method: 'GET', auid: 'xcap-caps', status: '200' })).toBe(10);
      }
      const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="directory"><entry uri="sip:bob@example.com"/></list></resource-lists>`;
      expect((await new XcapClient(server.url, CREDS).put(ALICE_RL, doc, RL_TYPE)).status).toBe(201);
      const deadline = Date.now() + 60_000;
      let text = await scrape();
      while ((sample(text, 'xcap_bridge_sync_runs_total', { binding: 'directory', outcome: 'applied' }) ?? 0) < 1) {
        if (Date.now() > deadline) throw new Error(`no sync run counted:\n${text}`);
        await new Promise((r) => setTimeout(r, 200));
        text = await scrape();
      }
      expect(sample(text, 'xcap_bridge_sync_items_total', { binding: 'directory', side: 'remote', op: 'create' })).toBe(1);
      expect(sample(text, 'xcap_bridge_documents', { auid: 'resource-lists' })).toBe(1);
      expect(sample(text, 'xcap_bridge_users')).toBe(1);
    });
  });
});

/**
 * Phones can save what they fetched (RFC 4825 §7.2 whole-document PUT, 413 above
 * `server.maxBodyBytes`): a document holding a directory list that a pull binding manages
 * may be PUT back whole although the directory alone is larger than the body limit. The
 * allowance is the stored list's size on top of the limit, never more, and only there;
 * the directory projection carries only the binding's mapped fields.
 *
 * The real gateway over HTTP (Digest), the sync engine on real Redis (a single one and a
 * 6-node Redis Cluster), a memory connector.
 * The limit is set to 64 KiB so that 1,000 entries (the 10,000-entry case scaled down)
 * are over it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import { ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';
import { RL_NS, RL_TYPE } from '../http/helpers.ts';

const LIMIT = 64 * 1024;
const INDEX = `/resource-lists/users/${ALICE.xui}/index`;
const PEOPLE = 1000;

/** GETs `path` from `t` until `ok(body)` holds (the sync engine works asynchronously). */
async function eventually(t: TestGateway, path: string, ok: (body: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.client().get(path);
    if (r.status === 200 && ok(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${path}: ${r.status} ${r.body.slice(0, 200)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Alice's own list, of about `bytes` bytes. */
function ownList(bytes: number): string {
  let entries = '';
  for (let i = 0; entries.length < bytes; i++) entries += `<entry uri="sip:friend${i}@example.org"><display-name>Friend ${i}</display-name></entry>`;
  return `<list name="friends">${entries}</list>`;
}

/** The fetched document with alice's own list replaced by `own`. */
function withOwn(fetched: string, own: string): string {
  return fetched.replace(/<list name="friends">.*?<\/list>|<list name="friends"\/>/, own);
}

describeEachRedis((redis) => {
  let t: TestGateway;

  beforeAll(async () => {
    t = await startTestGateway({
      config: {
        server: { maxBodyBytes: LIMIT },
        redis: redisSection(await redis.target(), `bodylimit-${randomUUID()}`),
        connectors: { mem: { kind: 'memory', collections: ['people'] } },
        bindings: [{
          name: 'directory', auid: 'resource-lists', target: { scope: 'users', document: 'index' },
          mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] }, connector: 'mem', collection: 'people', direction: 'pull',
        }],
      },
    });
    const remote = t.gateway.sync?.connectors.get('mem') as MemoryConnector;
    remote.seed('people', Array.from({ length: PEOPLE }, (_, i) => ({
      // `title` and `telephoneNumber` are not mapped: they must not reach the phones.
      fields: { uri: `sip:person${i}@example.com`, 'display-name': `Person ${i}`, mail: `person${i}@example.com`, title: 'Engineer', telephoneNumber: `+1555${i}` },
    })));
    const first = await t.client().put(INDEX, `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="friends"/></resource-lists>`, RL_TYPE);
    expect(first.status).toBe(201);
    await t.gateway.sync?.enqueue('directory', ALICE.xui);
    await eventually(t, INDEX, (b) => b.includes(`sip:person${PEOPLE - 1}@example.com`));
  });
  afterAll(() => t.stop());

  describe('whole-document PUT of a document with a managed directory (RFC 4825 §7.2; 413 past server.maxBodyBytes)', () => {
    it('the directory projection holds the mapped fields only', async () => {
      const body = (await t.client().get(INDEX)).body;
      expect(body.match(/<entry /g)).toHaveLength(PEOPLE);
      expect(body).toContain('<xbf:field name="mail">person7@example.com</xbf:field>');
      expect(body).not.toContain('Engineer');
      expect(body).not.toContain('+1555');
    });

    it('a phone PUTs back the document it fetched, larger than the limit, with its own edit: 200, edit kept, directory intact', async () => {
      const fetched = (await t.client().get(INDEX)).body;
      expect(Buffer.byteLength(fetched)).toBeGreaterThan(LIMIT);
      const edited = withOwn(fetched, '<list name="friends"><entry uri="sip:carol@example.org"><display-name>Carol</display-name></entry></list>');
      const put = await t.client().put(INDEX, edited, RL_TYPE);
      expect(put.status).toBe(200);
      const after = (await t.client().get(INDEX)).body;
      expect(after).toContain('sip:carol@example.org');
      expect(after.match(/<entry uri="sip:person/g)).toHaveLength(PEOPLE);
    });

    it('the client\'s own content still has the plain limit: own lists of up to maxBodyBytes pass, beyond it 413 and nothing changes', async () => {
      const fetched = (await t.client().get(INDEX)).body;
      const within = withOwn(fetched, ownList(LIMIT * 0.9));
      expect(Buffer.byteLength(within)).toBeGreaterThan(LIMIT);
      expect((await t.client().put(INDEX, within, RL_TYPE)).status).toBe(200);
      const stored = (await t.client().get(INDEX)).body;
      const beyond = withOwn(stored, ownList(LIMIT * 1.1));
      const refused = await t.client().put(INDEX, beyond, RL_TYPE);
      expect(refused.status).toBe(413);
      expect((await t.client().get(INDEX)).body).toBe(stored);
    });

    it('documents without a managed list keep the plain limit (413)', async () => {
      const big = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}">${ownList(LIMIT * 1.1)}</resource-lists>`;
      const r = await t.client().put(`/resource-lists/users/${ALICE.xui}/other`, big, RL_TYPE);
      expect(r.status).toBe(413);
      expect((await t.client().get(`/resource-lists/users/${ALICE.xui}/other`)).status).toBe(404);
    });
  });
});

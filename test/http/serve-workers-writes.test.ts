/**
 * Whole-document PUTs under `serve --workers 2` on SQLite: the HTTP worker that receives one
 * validates it and the primary only stores it. What a client sees must not change: every
 * refusal (409 with its condition element and phrase, 412, 415, 413) is byte for byte the
 * one a single process (`--workers 1`) gives, large bodies (validated on a worker's
 * validation thread) included, and conditional writes racing across both workers stay
 * atomic (the primary's store checks the ETag).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XcapClient, type ClientResponse } from '../helpers/digest-client.ts';
import { ALICE_RL, ALICE_XUI, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE, RLS_TYPE, services } from './helpers.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';

const CREDS = { username: 'alice', password: 'alice-secret' };
const CLOSE = { Connection: 'close' };

/** A valid resource-lists document of `n` entries (about 60 bytes each). */
function bigList(n: number, dup = false): string {
  const entries = Array.from({ length: n }, (_, i) => `<entry uri="sip:user${dup && i === n - 1 ? 0 : i}@example.com"><display-name>U${i}</display-name></entry>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="all">${entries.join('')}</list></resource-lists>\n`;
}

const RLS_DOC = `/rls-services/users/${ALICE_XUI}/index`;
const RLS_OTHER = `/rls-services/users/${ALICE_XUI}/other`;

/** Bad whole-document PUTs, each with the request that makes it bad. */
const REFUSED: ReadonlyArray<{ name: string; path: string; body: string; type: string; headers?: Record<string, string> }> = [
  { name: 'not well-formed', path: ALICE_RL, body: `<resource-lists xmlns="${RL_NS}"><list name="a">`, type: RL_TYPE },
  { name: 'schema: unknown element', path: ALICE_RL, body: `<resource-lists xmlns="${RL_NS}"><lust name="a"/></resource-lists>`, type: RL_TYPE },
  { name: 'uniqueness: a repeated entry uri', path: ALICE_RL, body: contacts().replace('sip:carol@', 'sip:bob@'), type: RL_TYPE },
  { name: 'constraint: a bad entry-ref', path: ALICE_RL, body: `<resource-lists xmlns="${RL_NS}"><list name="a"><entry-ref ref="/abs"/></list></resource-lists>`, type: RL_TYPE },
  { name: 'constraint: nested too deep', path: ALICE_RL, body: `<resource-lists xmlns="${RL_NS}">${'<list>'.repeat(300)}${'</list>'.repeat(300)}</resource-lists>`, type: RL_TYPE },
  { name: 'not UTF-8', path: ALICE_RL, body: contacts().replace('UTF-8', 'ISO-8859-1'), type: RL_TYPE },
  { name: '415: an element type for a document', path: ALICE_RL, body: contacts(), type: EL_TYPE },
  { name: '412: If-Match of another ETag, invalid body', path: ALICE_RL, body: '<oops', type: RL_TYPE, headers: { 'If-Match': '"nope"' } },
  { name: 'large (thread-validated) with a repeated uri', path: ALICE_RL, body: bigList(2000, true), type: RL_TYPE },
  { name: 'large (thread-validated) not well-formed', path: ALICE_RL, body: bigList(2000).replace('</list>', ''), type: RL_TYPE },
  {
    name: 'rls-services: a service URI another document holds',
    path: RLS_OTHER,
    body: services(['sip:friends@example.com', '<list/>']),
    type: RLS_TYPE,
  },
];

describe('serve --workers 2 validates whole documents in the worker: same answers as one process', () => {
  let single: ServeProcess;
  let multi: ServeProcess;
  const stores = [tempData(), tempData()];
  beforeAll(async () => {
    await Promise.all(stores.map((s) => addUser(s, ALICE_XUI, 'alice-secret')));
    [single, multi] = await Promise.all([startServe(stores[0]!, ['--workers', '1']), startServe(stores[1]!, ['--workers', '2'])]);
    await multi.logged('serving XCAP at', 2);
    // The same starting state in both: a contacts document and an rls-services document holding sip:friends@.
    for (const s of [single, multi]) {
      const c = new XcapClient(s.url, CREDS);
      expect((await c.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
      expect((await c.put(RLS_DOC, services(['sip:friends@example.com', '<list/>']), RLS_TYPE)).status).toBe(201);
    }
  });
  afterAll(async () => {
    expect(await Promise.all([single?.stop(), multi?.stop()])).toEqual([0, 0]);
    for (const s of stores) s.remove();
  });

  /** `req` sent on a new connection each time (Basic: one request per PUT), so the cluster hands them to the workers in turn. */
  async function both(req: (typeof REFUSED)[number], times: number): Promise<{ one: ClientResponse; many: ClientResponse[] }> {
    const one = await new XcapClient(single.url, CREDS, { mode: 'basic' }).put(req.path, req.body, req.type, { ...req.headers, ...CLOSE });
    const many: ClientResponse[] = [];
    for (let i = 0; i < times; i++) many.push(await new XcapClient(multi.url, CREDS, { mode: 'basic' }).put(req.path, req.body, req.type, { ...req.headers, ...CLOSE }));
    return { one, many };
  }

  for (const req of REFUSED) {
    it(`${req.name}: status, content type and body identical on every worker`, async () => {
      const { one, many } = await both(req, 2);
      expect(one.status).toBeGreaterThanOrEqual(400);
      if (one.status === 409) expectConflict(one, xmlCondition(one.body));
      for (const r of many) {
        expect({ status: r.status, type: r.headers.get('content-type'), body: r.body }).toEqual({ status: one.status, type: one.headers.get('content-type'), body: one.body });
      }
      // Two workers answered (new connections go to them in turn), and nothing was stored.
      expect(new Set(many.map(worker)).size).toBe(2);
      for (const s of [single, multi]) {
        const get = await new XcapClient(s.url, CREDS).get(req.path);
        if (req.path === ALICE_RL) expect(get.body).toBe(contacts());
        else expect(get.status).toBe(404);
      }
    });
  }

  it('a large valid document (validated on a thread of the worker) is stored and read back by every worker', async () => {
    const body = bigList(2000);
    const put = await new XcapClient(multi.url, CREDS).put(ALICE_RL, body, RL_TYPE, CLOSE);
    expect(put.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const get = await new XcapClient(multi.url, CREDS).get(ALICE_RL, CLOSE);
      expect(get.body).toBe(body);
      expect(get.headers.get('etag')).toBe(put.headers.get('etag'));
    }
    const restore = await new XcapClient(multi.url, CREDS).put(ALICE_RL, contacts(), RL_TYPE, CLOSE);
    expect(restore.status).toBe(200);
  });

  it('20 If-Match PUTs of one ETag on new connections across both workers: exactly one 200, 19 get 412', async () => {
    const etag = (await new XcapClient(multi.url, CREDS).get(ALICE_RL)).headers.get('etag') as string;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => new XcapClient(multi.url, CREDS, { mode: 'basic' }).put(ALICE_RL, contacts().replace('Bob', `Writer${i}`), RL_TYPE, { 'If-Match': etag, ...CLOSE })),
    );
    expect(new Set(results.map(worker)).size).toBe(2);
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(412)]);
    const winner = results.findIndex((r) => r.status === 200);
    for (let i = 0; i < 2; i++) {
      const get = await new XcapClient(multi.url, CREDS).get(ALICE_RL, CLOSE);
      expect(get.body).toBe(contacts().replace('Bob', `Writer${winner}`));
      expect(get.headers.get('etag')).toBe(results[winner]!.headers.get('etag'));
    }
  });

  it('If-None-Match: * PUTs racing to create one document across both workers: one 201, the rest 412', async () => {
    const path = `/resource-lists/users/${ALICE_XUI}/race`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => new XcapClient(multi.url, CREDS, { mode: 'basic' }).put(path, contacts().replace('Bob', `Maker${i}`), RL_TYPE, { 'If-None-Match': '*', ...CLOSE })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(412)]);
    const winner = results.findIndex((r) => r.status === 201);
    expect((await new XcapClient(multi.url, CREDS).get(path)).body).toBe(contacts().replace('Bob', `Maker${winner}`));
  });

  it('an element PUT after a worker-validated document PUT edits the stored document (the primary sees the new version)', async () => {
    const c = new XcapClient(multi.url, CREDS, { mode: 'basic' });
    expect((await c.put(ALICE_RL, contacts().replace('Carol', 'Caroline'), RL_TYPE, CLOSE)).status).toBe(200);
    const sel = enc('/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:dave@example.com"]');
    expect((await c.put(ALICE_RL + sel, '<entry uri="sip:dave@example.com"/>', EL_TYPE, CLOSE)).status).toBe(201);
    const get = await c.get(ALICE_RL, CLOSE);
    expect(get.body).toContain('Caroline');
    expect(get.body).toContain('<entry uri="sip:dave@example.com"/>');
  });
});

/** The worker that answered: the process part of its X-Request-Id. */
function worker(r: ClientResponse): string {
  return (r.headers.get('x-request-id') ?? '').split('-')[0] as string;
}

/** The condition element's local name in an xcap-error body. */
function xmlCondition(body: string): string {
  return /<xcap-error[^>]*>\s*<([a-z0-9-]+)/.exec(body)?.[1] ?? '';
}

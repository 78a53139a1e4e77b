/**
 * RFC 4826 over HTTP: resource-lists (§3) documents of the shape the RFC's example shows
 * (nested lists, entry-ref, external, display names) and its §3.4.5 constraints; and
 * rls-services (§4): service-URI uniqueness across every user (§4.4.5) and the generated,
 * read-only `global/index` (§4.4.8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { children, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE, RLS_TYPE, services, xml } from './helpers.ts';

/** A buddy list in the spirit of RFC 4826 §3.3: nested list, entry-ref, external, display names. */
function buddyList(origin: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}" xmlns:x="urn:example:extra">
  <list name="friends">
    <display-name>Friends</display-name>
    <entry uri="sip:bill@example.com"><display-name>Bill Doe</display-name></entry>
    <entry-ref ref="resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b@name=%22work%22%5d/entry%5b1%5d"/>
    <list name="close-friends">
      <display-name>Close Friends</display-name>
      <entry uri="sip:joe@example.com"><display-name>Joe Smith</display-name></entry>
      <entry uri="sip:nancy@example.com" x:note="met at work"/>
      <external anchor="${origin}/xcap-root/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkt%22%5d"/>
    </list>
  </list>
  <list name="work">
    <entry uri="sip:tom@example.com"/>
  </list>
</resource-lists>
`;
}

describe('RFC 4826 §3 resource-lists over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  const doc = '/resource-lists/users/sip:alice@example.com/index';
  beforeAll(async () => {
    gw = await startTestGateway();
    c = gw.client();
  });
  afterAll(() => gw.stop());

  it('§3.3 a document with nested lists, entry-ref and external is stored and read back as sent', async () => {
    const body = buddyList(gw.origin);
    expect((await c.put(doc, body, RL_TYPE)).status).toBe(201);
    const get = await c.get(doc);
    expect(get.headers.get('content-type')).toBe(RL_TYPE);
    expect(get.body).toBe(body);
    const nested = await c.get(`${doc}/~~/${enc('resource-lists/list[@name="friends"]/list[@name="close-friends"]/entry[2]/@x:note')}?xmlns(x=urn:example:extra)`);
    expect(nested.body).toBe('met at work');
    const name = await c.get(`${doc}/~~/${enc('resource-lists/list[1]/display-name')}`);
    expect(xml(name.body).textContent).toBe('Friends');
  });

  it('§3.4.5 list names are unique within their parent', async () => {
    const r = await c.put(`${doc}/~~/${enc('resource-lists/list[3]')}`, '<list name="work"/>', EL_TYPE);
    const cond = expectConflict(r, 'uniqueness-failure');
    expect(children(cond, 'exists')[0]?.getAttribute('field')).toMatch(/list%5B\d%5D\/@name$/);
    // The same name in another parent is fine.
    expect((await c.put(`${doc}/~~/${enc('resource-lists/list[@name="friends"]/list[@name="work"]')}`, '<list name="work"/>', EL_TYPE)).status).toBe(201);
    expect((await c.get(`${doc}/~~/${enc('resource-lists/list[@name="friends"]/list[@name="work"]')}`)).status).toBe(200);
  });

  it('§3.4.5 entry-ref must be relative to the root; external anchor must be an absolute HTTP URI', async () => {
    expectConflict(await c.put(`${doc}/~~/${enc('resource-lists/list[@name="work"]/entry-ref[@ref="/xcap-root/x"]')}`, '<entry-ref ref="/xcap-root/x"/>', EL_TYPE), 'constraint-failure');
    expectConflict(await c.put(`${doc}/~~/${enc('resource-lists/list[@name="work"]/external[@anchor="ftp://x/y"]')}`, '<external anchor="ftp://x/y"/>', EL_TYPE), 'constraint-failure');
    expect((await c.get(doc)).body).not.toContain('ftp://');
  });
});

describe('RFC 4826 §4 rls-services over HTTP', () => {
  let gw: TestGateway;
  let alice: XcapClient;
  let bob: XcapClient;
  const aliceDoc = '/rls-services/users/sip:alice@example.com/index';
  const bobDoc = '/rls-services/users/sip:bob@example.com/index';
  beforeAll(async () => {
    gw = await startTestGateway();
    alice = gw.client();
    bob = gw.client('bob', 'bob-secret');
  });
  afterAll(() => gw.stop());

  it('§4.4.5 a service URI is unique across users: bob cannot take alice\'s, and gets a free alt-value', async () => {
    const list = `<list><rl:entry uri="sip:bill@example.com"/></list>`;
    const a = services(['sip:alice-buddies@example.com', list]);
    expect((await alice.put(aliceDoc, a, RLS_TYPE)).status).toBe(201);
    expect((await alice.get(aliceDoc)).body).toBe(a);

    const r = await bob.put(bobDoc, services(['sip:alice-buddies@example.com', list]), RLS_TYPE);
    const cond = expectConflict(r, 'uniqueness-failure');
    const exists = children(cond, 'exists')[0]!;
    expect(exists.getAttribute('field')).toMatch(/service%5B1%5D\/@uri$/);
    const alt = children(exists, 'alt-value').map((e) => e.textContent as string);
    expect(alt.length).toBeGreaterThan(0);
    expect(alt).not.toContain('sip:alice-buddies@example.com');
    expect((await bob.get(bobDoc)).status).toBe(404);

    const ok = await bob.put(bobDoc, services([alt[0]!, list]), RLS_TYPE);
    expect(ok.status).toBe(201);
    expect((await bob.get(bobDoc)).body).toContain(alt[0]!);
  });

  it('§4.4.5 within one document too', async () => {
    const doc = services(['sip:dup@example.com', '<list/>'], ['sip:dup@example.com', '<list/>']);
    expectConflict(await alice.put('/rls-services/users/sip:alice@example.com/other', doc, RLS_TYPE), 'uniqueness-failure');
  });

  it('§4.4.5 a <resource-list> must point into resource-lists on this server', async () => {
    const bad = services(['sip:ext@example.com', '<resource-list>http://elsewhere.example/x</resource-list>']);
    expectConflict(await alice.put('/rls-services/users/sip:alice@example.com/other', bad, RLS_TYPE), 'constraint-failure');
    const good = services([
      'sip:ref@example.com',
      `<resource-list>${gw.url}/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22friends%22%5D</resource-list>`,
    ]);
    expect((await alice.put('/rls-services/users/sip:alice@example.com/other', good, RLS_TYPE)).status).toBe(201);
    expect((await alice.get('/rls-services/users/sip:alice@example.com/other')).body).toBe(good);
  });

  it('§4.4.8 global/index is the union of every user\'s index services, read-only, with a content ETag', async () => {
    const g = await alice.get('/rls-services/global/index');
    expect(g.status).toBe(200);
    expect(g.headers.get('content-type')).toBe(RLS_TYPE);
    const uris = children(xml(g.body), 'service').map((s) => s.getAttribute('uri'));
    expect(uris).toContain('sip:alice-buddies@example.com');
    expect(uris.some((u) => u?.startsWith('sip:alice-buddies-'))).toBe(true);
    // Only `index` documents count.
    expect(uris).not.toContain('sip:ref@example.com');
    const etag = g.headers.get('etag') as string;
    expect((await alice.get('/rls-services/global/index', { 'If-None-Match': etag })).status).toBe(304);
    // A change in a user's index changes the union and its ETag.
    await alice.delete(aliceDoc);
    const after = await alice.get('/rls-services/global/index');
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(children(xml(after.body), 'service').map((s) => s.getAttribute('uri'))).not.toContain('sip:alice-buddies@example.com');
    const put = await gw.client('admin', 'admin-secret').put('/rls-services/global/index', services(['sip:x@example.com', '<list/>']), RLS_TYPE);
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET');
  });
});

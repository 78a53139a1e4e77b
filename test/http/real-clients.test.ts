/**
 * What real clients send, one test each, through HTTP: the bytes deployed
 * phones and softphones put on the wire, and what they need back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parseChallenges, rawRequest, XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, children, contacts, CP_NS, EL_TYPE, expectConflict, fragment, PR_NS, RL_NS, RL_TYPE, xml } from './helpers.ts';

const SNOM_DOC = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}" xmlns:cp="counterpath:properties">
  <list name="Contact List">
    <entry><display-name>Front desk</display-name><cp:prop name="entry_id" value="1"/><cp:prop name="number" value="100"/></entry>
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
  </list>
</resource-lists>
`;

export function presRulesDoc(who: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="${CP_NS}" xmlns:pr="${PR_NS}">
  <cr:rule id="allow-${who}">
    <cr:conditions><cr:identity><cr:one id="sip:${who}@example.com"/></cr:identity></cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
    <cr:transformations/>
  </cr:rule>
</cr:ruleset>
`;
}

describe('what real clients send, over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway({
      config: { clients: { snom: { userAgent: '^(snom|Bria)', lenient: ['entry-without-uri'] } } },
    });
    c = gw.client();
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    expect([200, 201]).toContain((await c.put(ALICE_RL, contacts(), RL_TYPE)).status);
  });

  it('python3-xcaplib (Blink): raw " [ ] in the selector, raw in the Digest uri too', async () => {
    const path = `${ALICE_RL}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:zed@example.com"]`;
    const put = await c.put(path, '<entry uri="sip:zed@example.com"><display-name>Zed</display-name></entry>', EL_TYPE);
    expect(put.status).toBe(201);
    const get = await c.get(path);
    expect(get.status).toBe(200);
    expect(xml(get.body).getAttribute('uri')).toBe('sip:zed@example.com');
    const att = await c.get(`${ALICE_RL}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:zed@example.com"]/display-name`);
    expect(xml(att.body).textContent).toBe('Zed');
    expect((await c.delete(path)).status).toBe(200);
    expect((await c.get(path)).status).toBe(404);
    // Back to what it was (whitespace after the root element is not part of the document).
    expect((await c.get(ALICE_RL)).body.trimEnd()).toBe(contacts().trimEnd());
  });

  it('Doubango/IMSDroid: fully percent-encoded selector, ? as %3F, xmlns(p="ns") with quotes', async () => {
    const selector = `/~~/r:resource-lists/r:list[@name="work"]/r:entry?xmlns(r="${RL_NS}")`;
    const path = ALICE_RL + encodeURIComponent(selector).replace(/%2F/g, '/');
    expect(path).toContain('%3F');
    const get = await c.get(path);
    expect(get.status).toBe(200);
    expect(xml(get.body).getAttribute('uri')).toBe('sip:erin@example.com');
    // Everything encoded, even the slashes between steps and the ~~.
    const all = ALICE_RL + '/' + encodeURIComponent(selector.slice(1));
    expect((await c.get(all)).status).toBe(200);
    const put = await c.put(
      ALICE_RL + encodeURIComponent(`/~~/r:resource-lists/r:list[@name="work"]/r:entry[@uri="sip:ivy@example.com"]?xmlns(r="${RL_NS}")`).replace(/%2F/g, '/'),
      `<entry xmlns="${RL_NS}" uri="sip:ivy@example.com"/>`,
      EL_TYPE,
    );
    expect(put.status).toBe(201);
    const work = xml((await c.get(`${ALICE_RL}/~~/resource-lists/list%5B@name=%22work%22%5D`)).body);
    expect(children(work, 'entry').map((e) => e.getAttribute('uri'))).toEqual(['sip:erin@example.com', 'sip:ivy@example.com']);
  });

  it('eyeBeam/Bria: realm in the root (/xcap-root@example.com/...) and an XUI without domain', async () => {
    const bria = new XcapClient(gw.url + '@example.com', { username: 'alice', password: 'alice-secret' });
    const challenge = await rawRequest('GET', `${gw.url}@example.com/resource-lists/users/alice/index`, {});
    expect(challenge.status).toBe(401);
    expect(parseChallenges(challenge.headers)[0]?.realm).toBe('example.com');
    const get = await bria.get('/resource-lists/users/alice/index');
    expect(get.status).toBe(200);
    expect(get.body).toBe(contacts());
    const put = await bria.put('/resource-lists/users/alice/index/~~/resource-lists/list%5B@name=%22work%22%5D/entry%5B@uri=%22sip:kim@example.com%22%5D', '<entry uri="sip:kim@example.com"/>', EL_TYPE);
    expect(put.status).toBe(201);
    // Same document as the canonical URI.
    expect((await c.get(ALICE_RL)).body).toContain('sip:kim@example.com');
  });

  it('bare If-None-Match: * as well as "*" (create only if absent)', async () => {
    const doc = '/resource-lists/users/sip:alice@example.com/bare';
    expect((await c.put(doc, contacts(), RL_TYPE, { 'If-None-Match': '*' })).status).toBe(201);
    expect((await c.put(doc, contacts(), RL_TYPE, { 'If-None-Match': '*' })).status).toBe(412);
    expect((await c.put(doc, contacts(), RL_TYPE, { 'If-None-Match': '"*"' })).status).toBe(412);
    const get = await c.get(doc, { 'If-None-Match': '*' });
    expect(get.status).toBe(304);
    expect(get.headers.get('etag')).toMatch(/^"/);
  });

  it('pres-rules document names index, presrules, pres-rules, index.xml all reach one document', async () => {
    const names = ['index', 'presrules', 'pres-rules', 'index.xml'];
    for (const [i, name] of names.entries()) {
      const path = `/pres-rules/users/sip:alice@example.com/${name}`;
      const put = await c.put(path, presRulesDoc(`u${i}`), 'application/auth-policy+xml');
      expect(put.status, name).toBe(i === 0 ? 201 : 200);
      const etag = put.headers.get('etag');
      for (const other of names) {
        const get = await c.get(`/pres-rules/users/sip:alice@example.com/${other}`);
        expect(get.status).toBe(200);
        expect(get.headers.get('content-type')).toBe('application/auth-policy+xml');
        expect(get.headers.get('etag')).toBe(etag);
        expect(get.body).toContain(`sip:u${i}@example.com`);
      }
    }
    expect((await c.delete('/pres-rules/users/sip:alice@example.com/presrules')).status).toBe(200);
    expect((await c.get('/pres-rules/users/sip:alice@example.com/index.xml')).status).toBe(404);
  });

  it('Jitsi/Snom: whole-document PUT with no If-Match on every change, sequential and concurrent', async () => {
    let body = contacts();
    for (let i = 0; i < 5; i++) {
      body = body.replace('</list>', `<entry uri="sip:n${i}@example.com"/></list>`);
      const r = await c.put(ALICE_RL, body, RL_TYPE);
      expect(r.status).toBe(200);
      const get = await c.get(ALICE_RL);
      expect(get.body).toBe(body);
      expect(get.headers.get('etag')).toBe(r.headers.get('etag'));
    }
    // Several at once without preconditions: each is applied (last writer wins), none is refused.
    const bodies = [0, 1, 2, 3].map((i) => contacts().replace('Bob', `Bob${i}`));
    const results = await Promise.all(bodies.map((b) => gw.client().put(ALICE_RL, b, RL_TYPE)));
    for (const r of results) expect(r.status).toBe(200);
    expect(bodies).toContain((await c.get(ALICE_RL)).body);
  });

  it('Snom/Bria: <entry> without uri is accepted for a client profile matched by User-Agent, refused otherwise', async () => {
    const doc = '/resource-lists/users/sip:alice@example.com/snom';
    const plain = await c.put(doc, SNOM_DOC, RL_TYPE);
    expectConflict(plain, 'schema-validation-error');
    expect((await c.get(doc)).status).toBe(404);
    const snom = await c.put(doc, SNOM_DOC, RL_TYPE, { 'User-Agent': 'snomD785/10.1.54.13' });
    expect(snom.status).toBe(201);
    const back = await c.get(doc, { 'User-Agent': 'snomD785/10.1.54.13' });
    expect(back.body).toBe(SNOM_DOC);
    // An element PUT of another uri-less entry from Bria works too; from another agent it is refused.
    const sel = `${doc}/~~/resource-lists/list%5B@name=%22Contact%20List%22%5D/entry%5B3%5D`;
    const frag = '<entry><display-name>Lobby</display-name><cp:prop name="entry_id" value="3"/></entry>';
    expectConflict(await c.put(sel, frag, EL_TYPE, { 'User-Agent': 'Jitsi/2.10' }), 'schema-validation-error');
    expect((await c.put(sel, frag, EL_TYPE, { 'User-Agent': 'Bria 6 release 6.5.2' })).status).toBe(201);
    const list = fragment((await c.get(`${doc}/~~/resource-lists/list%5B1%5D`)).body, { '': RL_NS, cp: 'counterpath:properties' });
    expect(list.namespaceURI).toBe(RL_NS);
    expect(children(list, 'entry')).toHaveLength(3);
    expect(children(list, 'entry')[2]?.hasAttribute('uri')).toBe(false);
  });

  it('Jitsi: xcap-caps fetched first, without credentials, lists every usage', async () => {
    const r = await rawRequest('GET', `${gw.url}/xcap-caps/global/index`, {});
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/xcap-caps+xml');
    const auids = Array.from(xml(r.body).getElementsByTagName('auid')).map((a) => a.textContent);
    expect(auids).toEqual(expect.arrayContaining(['xcap-caps', 'resource-lists', 'rls-services', 'pres-rules', 'pidf-manipulation']));
  });

  it('a client that does not cache nonces: a 401 round trip before every request works', async () => {
    for (let i = 0; i < 10; i++) {
      const fresh = new XcapClient(gw.url, { username: 'alice', password: 'alice-secret' });
      const path = `${ALICE_RL}/~~/resource-lists/list%5B@name=%22work%22%5D/entry%5B@uri=%22sip:x${i}@example.com%22%5D`;
      expect((await fresh.put(path, `<entry uri="sip:x${i}@example.com"/>`, EL_TYPE)).status).toBe(201);
    }
    expect(children(xml((await c.get(`${ALICE_RL}/~~/resource-lists/list%5B2%5D`)).body), 'entry')).toHaveLength(11);
  });
});

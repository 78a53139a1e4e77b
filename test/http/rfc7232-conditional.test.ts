/**
 * RFC 7232 comparison rules for the XCAP conditional headers, through HTTP, on documents,
 * elements and attributes: If-None-Match compares weakly (§3.2: `W/"tag"` matches the
 * current tag, so 304 on GET and 412 on PUT/DELETE), If-Match compares strongly (§3.1: a
 * weak tag never matches, 412). Lists and `*` are in rfc4825-7.11-conditional.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, contacts, EL_TYPE, enc, RL_TYPE, xml } from './helpers.ts';

describe('RFC 7232 §2.3.2 weak and strong comparison of If-None-Match / If-Match', () => {
  let gw: TestGateway;
  let c: XcapClient;
  /** The current ETag, quoted as the server sends it. */
  let etag: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    c = gw.client();
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    await c.delete(ALICE_RL);
    const r = await c.put(ALICE_RL, contacts(), RL_TYPE);
    expect(r.status).toBe(201);
    etag = r.headers.get('etag') as string;
    expect((await c.get(ALICE_RL)).body).toBe(contacts());
  });

  const sel = (s: string) => `${ALICE_RL}/~~/${enc(s)}`;
  const bob = sel('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]');
  const bobName = sel('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]/display-name');
  const listName = sel('resource-lists/list[@name="work"]/@name');
  const zoe = sel('resource-lists/list[@name="friends"]/entry[@uri="sip:zoe@example.com"]');
  const weak = () => `W/${etag}`;

  /** The document is exactly as the beforeEach stored it. */
  async function unchanged(): Promise<void> {
    const get = await c.get(ALICE_RL);
    expect(get.headers.get('etag')).toBe(etag);
    expect(get.body).toBe(contacts());
  }

  it('§3.2 GET of a document, an element and an attribute with If-None-Match: W/"current" → 304 with the ETag', async () => {
    for (const uri of [ALICE_RL, bob, listName]) {
      const r = await c.get(uri, { 'If-None-Match': weak() });
      expect(r.status, uri).toBe(304);
      expect(r.body).toBe('');
      expect(r.headers.get('etag')).toBe(etag);
    }
    // In a list, one weak match is enough; a weak tag of another version does not match.
    expect((await c.get(bob, { 'If-None-Match': `"other", ${weak()}` })).status).toBe(304);
    const other = await c.get(bob, { 'If-None-Match': 'W/"other"' });
    expect(other.status).toBe(200);
    expect(xml(other.body).getAttribute('uri')).toBe('sip:bob@example.com');
  });

  it('§3.2 PUT and DELETE of a document, an element and an attribute with If-None-Match: W/"current" → 412, nothing changes', async () => {
    const writes = [
      () => c.put(ALICE_RL, contacts().replace('Bob', 'Robert'), RL_TYPE, { 'If-None-Match': weak() }),
      () => c.put(zoe, '<entry uri="sip:zoe@example.com"/>', EL_TYPE, { 'If-None-Match': weak() }),
      () => c.put(bobName, '<display-name>Robert</display-name>', EL_TYPE, { 'If-None-Match': weak() }),
      () => c.put(listName, 'office', ATT_TYPE, { 'If-None-Match': weak() }),
      () => c.delete(bob, { 'If-None-Match': weak() }),
      () => c.delete(listName, { 'If-None-Match': weak() }),
      () => c.delete(ALICE_RL, { 'If-None-Match': `"other", ${weak()}` }),
    ];
    for (const write of writes) {
      expect((await write()).status).toBe(412);
      await unchanged();
    }
  });

  it('§3.2 If-None-Match: W/"another version" lets the write through', async () => {
    const put = await c.put(zoe, '<entry uri="sip:zoe@example.com"/>', EL_TYPE, { 'If-None-Match': 'W/"another"' });
    expect(put.status).toBe(201);
    const get = await c.get(zoe);
    expect(xml(get.body).getAttribute('uri')).toBe('sip:zoe@example.com');
    expect(get.headers.get('etag')).toBe(put.headers.get('etag'));
  });

  it('§3.1 If-Match: W/"current" never matches: 412 on GET, PUT and DELETE of every kind, nothing changes', async () => {
    expect((await c.get(ALICE_RL, { 'If-Match': weak() })).status).toBe(412);
    expect((await c.get(bob, { 'If-Match': weak() })).status).toBe(412);
    const writes = [
      () => c.put(ALICE_RL, contacts().replace('Bob', 'Robert'), RL_TYPE, { 'If-Match': weak() }),
      () => c.put(zoe, '<entry uri="sip:zoe@example.com"/>', EL_TYPE, { 'If-Match': weak() }),
      () => c.put(listName, 'office', ATT_TYPE, { 'If-Match': weak() }),
      () => c.delete(bob, { 'If-Match': weak() }),
      () => c.delete(listName, { 'If-Match': `${weak()}, "other"` }),
      () => c.delete(ALICE_RL, { 'If-Match': weak() }),
    ];
    for (const write of writes) {
      expect((await write()).status).toBe(412);
      await unchanged();
    }
  });

  it('§3.1 If-Match: "current" (strong) on element and attribute writes succeeds; each write is read back', async () => {
    const lang = `${bobName}/${enc('@xml:lang')}`;
    const put = await c.put(lang, 'en', ATT_TYPE, { 'If-Match': etag });
    expect(put.status).toBe(201);
    expect((await c.get(lang)).body).toBe('en');
    const next = put.headers.get('etag') as string;
    const el = await c.put(bobName, '<display-name>Robert</display-name>', EL_TYPE, { 'If-Match': next });
    expect(el.status).toBe(200);
    expect((await c.get(bobName)).body).toBe('<display-name>Robert</display-name>');
    expect((await c.delete(bob, { 'If-Match': el.headers.get('etag') as string })).status).toBe(200);
    expect((await c.get(bob)).status).toBe(404);
  });

  it('§6 If-Match is evaluated first: a matching If-Match with a weakly matching If-None-Match is 304 on GET, 412 on PUT', async () => {
    expect((await c.get(bob, { 'If-Match': etag, 'If-None-Match': weak() })).status).toBe(304);
    expect((await c.put(bobName, '<display-name>R</display-name>', EL_TYPE, { 'If-Match': etag, 'If-None-Match': weak() })).status).toBe(412);
    await unchanged();
  });
});

/**
 * RFC 4825 §7 (client operations) and §8.2/§8.3 (server behaviour) through HTTP: GET, PUT
 * and DELETE of documents, elements and attributes, GET of namespace bindings, insertion
 * position and the node selector forms. Every PUT is read back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, children, contacts, EL_TYPE, enc, RL_NS, RL_TYPE, xml } from './helpers.ts';

describe.each(['sqlite', 'postgres'] as const)('%s: RFC 4825 §7 operations over HTTP', (store) => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway({ store });
    c = gw.client();
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    const r = await c.put(ALICE_RL, contacts(), RL_TYPE);
    expect([200, 201]).toContain(r.status);
  });

  const sel = (s: string) => `${ALICE_RL}/~~/${enc(s)}`;

  describe('§7.2/§7.3/§7.5 documents', () => {
    it('PUT creates (201), GET returns it byte for byte with its MIME type, PUT again replaces (200), DELETE removes', async () => {
      const doc = '/resource-lists/users/sip:alice@example.com/other';
      const put = await c.put(doc, contacts(), RL_TYPE);
      expect(put.status).toBe(201);
      const get = await c.get(doc);
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(RL_TYPE);
      expect(get.body).toBe(contacts());
      const again = await c.put(doc, contacts().replace('Bob', 'Robert'), RL_TYPE);
      expect(again.status).toBe(200);
      expect((await c.get(doc)).body).toContain('Robert');
      const del = await c.delete(doc);
      expect(del.status).toBe(200);
      expect(del.headers.get('etag')).toMatch(/^".+"$/);
      expect((await c.get(doc)).status).toBe(404);
      expect((await c.delete(doc)).status).toBe(404);
    });

    it('HEAD answers like GET without a body', async () => {
      const r = await c.request('HEAD', ALICE_RL);
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      expect(r.headers.get('etag')).toBe((await c.get(ALICE_RL)).headers.get('etag'));
    });
  });

  describe('§7.4/§7.6/§7.5 elements', () => {
    it('GET of an element by [@a="v"] returns it as application/xcap-el+xml, as it is in the document (§8.3)', async () => {
      const r = await c.get(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:carol@example.com"]'));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(EL_TYPE);
      expect(r.body).toBe('<entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>');
    });

    it('GET by position [n], by [n][@a="v"], and by * steps', async () => {
      expect(xml((await c.get(sel('resource-lists/list[1]/entry[2]'))).body).getAttribute('uri')).toBe('sip:carol@example.com');
      expect(xml((await c.get(sel('resource-lists/list[2]/*'))).body).getAttribute('uri')).toBe('sip:erin@example.com');
      expect(xml((await c.get(sel('resource-lists/*[2]/entry[1]'))).body).getAttribute('uri')).toBe('sip:erin@example.com');
      const both = await c.get(sel('resource-lists/list[1]/entry[2][@uri="sip:carol@example.com"]'));
      expect(xml(both.body).getAttribute('uri')).toBe('sip:carol@example.com');
      // Position first, then the attribute test: the 1st entry is bob, so this selects nothing.
      expect((await c.get(sel('resource-lists/list[1]/entry[1][@uri="sip:carol@example.com"]'))).status).toBe(404);
      // `*` selecting two elements selects nothing usable.
      expect((await c.get(sel('resource-lists/list[1]/*'))).status).toBe(404);
    });

    it('prefixed names resolve through the ?xmlns(p=ns) query', async () => {
      const r = await c.get(`${ALICE_RL}/~~/${enc('r:resource-lists/r:list[@name="work"]/r:entry')}?xmlns(r=${RL_NS})`);
      expect(r.status).toBe(200);
      expect(xml(r.body).getAttribute('uri')).toBe('sip:erin@example.com');
      // Without the binding the prefix means nothing: 400, not a guess.
      expect((await c.get(sel('r:resource-lists/r:list[1]'))).status).toBe(400);
    });

    it('PUT inserts a new element after the last sibling of the same name (201) and reads back', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:dave@example.com"]'), '<entry uri="sip:dave@example.com"/>', EL_TYPE);
      expect(r.status).toBe(201);
      const list = xml((await c.get(sel('resource-lists/list[@name="friends"]'))).body);
      expect(children(list, 'entry').map((e) => e.getAttribute('uri'))).toEqual([
        'sip:bob@example.com',
        'sip:carol@example.com',
        'sip:dave@example.com',
      ]);
      const back = await c.get(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:dave@example.com"]'));
      expect(back.status).toBe(200);
      expect(xml(back.body).getAttribute('uri')).toBe('sip:dave@example.com');
    });

    it('PUT with [n] inserts at that position among same-named siblings', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[1]'), '<entry uri="sip:aaron@example.com"/>', EL_TYPE);
      // entry[1] exists: this replaces bob (200).
      expect(r.status).toBe(200);
      const ins = await c.put(sel('resource-lists/list[@name="work"]/entry[2]'), '<entry uri="sip:frank@example.com"/>', EL_TYPE);
      expect(ins.status).toBe(201);
      const friends = xml((await c.get(sel('resource-lists/list[@name="friends"]'))).body);
      expect(children(friends, 'entry').map((e) => e.getAttribute('uri'))).toEqual(['sip:aaron@example.com', 'sip:carol@example.com']);
      const work = xml((await c.get(sel('resource-lists/list[@name="work"]'))).body);
      expect(children(work, 'entry').map((e) => e.getAttribute('uri'))).toEqual(['sip:erin@example.com', 'sip:frank@example.com']);
    });

    it('PUT replaces an existing element (200) and the whole document shows it', async () => {
      const r = await c.put(
        sel('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]'),
        '<entry uri="sip:bob@example.com"><display-name>Bobby</display-name></entry>',
        EL_TYPE,
      );
      expect(r.status).toBe(200);
      const doc = await c.get(ALICE_RL);
      expect(doc.body).toContain('Bobby');
      expect(doc.body).not.toContain('>Bob<');
    });

    it('PUT of a new list under the root, then of an entry into it', async () => {
      expect((await c.put(sel('resource-lists/list[@name="family"]'), '<list name="family"/>', EL_TYPE)).status).toBe(201);
      expect((await c.put(sel('resource-lists/list[@name="family"]/entry[@uri="sip:mum@example.com"]'), `<entry xmlns="${RL_NS}" uri="sip:mum@example.com"/>`, EL_TYPE)).status).toBe(201);
      const root = xml((await c.get(ALICE_RL)).body);
      const lists = children(root, 'list');
      expect(lists.map((l) => l.getAttribute('name'))).toEqual(['friends', 'work', 'family']);
      expect(children(lists[2]!, 'entry')[0]?.getAttribute('uri')).toBe('sip:mum@example.com');
    });

    it('DELETE of an element (200) removes exactly it', async () => {
      const r = await c.delete(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]'));
      expect(r.status).toBe(200);
      const list = xml((await c.get(sel('resource-lists/list[@name="friends"]'))).body);
      expect(children(list, 'entry').map((e) => e.getAttribute('uri'))).toEqual(['sip:carol@example.com']);
      expect((await c.delete(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]'))).status).toBe(404);
    });
  });

  describe('§7.7/§7.9/§7.8 attributes', () => {
    it('GET of an attribute returns its value as application/xcap-att+xml', async () => {
      const r = await c.get(sel('resource-lists/list[2]/@name'));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(ATT_TYPE);
      expect(r.body).toBe('work');
    });

    it('PUT creates (201) and replaces (200) an attribute; the value reads back as the AttValue text sent', async () => {
      const at = `${ALICE_RL}/~~/${enc('resource-lists/list[2]/entry[1]/@x:note')}?xmlns(x=urn:example:notes)`;
      const created = await c.put(at, 'a &amp; b &lt;c&gt; "q"', ATT_TYPE);
      expect(created.status).toBe(201);
      const back = await c.get(at);
      expect(back.status).toBe(200);
      expect(back.body).toBe('a &amp; b &lt;c&gt; "q"');
      const entry = xml((await c.get(sel('resource-lists/list[2]/entry[1]'))).body);
      expect(entry.getAttributeNS('urn:example:notes', 'note')).toBe('a & b <c> "q"');
      expect((await c.put(at, 'second', ATT_TYPE)).status).toBe(200);
      expect((await c.get(at)).body).toBe('second');
    });

    it('PUT and GET of xml:lang (the reserved prefix needs no binding)', async () => {
      const at = sel('resource-lists/list[1]/entry[1]/display-name/@xml:lang');
      expect((await c.put(at, 'en', ATT_TYPE)).status).toBe(201);
      expect((await c.get(at)).body).toBe('en');
      expect((await c.get(ALICE_RL)).body).toContain('xml:lang="en"');
    });

    it('DELETE of an attribute removes it', async () => {
      const at = sel('resource-lists/list[1]/entry[1]/display-name/@xml:lang');
      expect((await c.put(at, 'en', ATT_TYPE)).status).toBe(201);
      expect((await c.delete(at)).status).toBe(200);
      expect((await c.get(at)).status).toBe(404);
      expect((await c.get(ALICE_RL)).body).not.toContain('xml:lang');
      expect((await c.delete(at)).status).toBe(404);
    });

    it('PUT replacing the attribute a predicate tests keeps the URI valid only if the value matches', async () => {
      const ok = await c.put(sel('resource-lists/list[@name="work"]/@name'), 'work', ATT_TYPE);
      expect(ok.status).toBe(200);
      expect((await c.get(sel('resource-lists/list[2]/@name'))).body).toBe('work');
    });
  });

  describe('§7.10 namespace bindings', () => {
    it('GET .../namespace::* returns the in-scope bindings as application/xcap-ns+xml', async () => {
      const r = await c.get(sel('resource-lists/list[1]/namespace::*'));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/xcap-ns+xml');
      const el = xml(r.body);
      expect(el.localName).toBe('list');
      expect(el.getAttribute('xmlns')).toBe(RL_NS);
      expect(children(el, 'entry')).toHaveLength(0);
    });
  });
});

/**
 * RFC 4825 §11 (409 conditions, each body validated against the xcap-error schema) and the
 * other error statuses of §8 (404, 405 + Allow, 413, 415). After every refused write the
 * document reads back unchanged.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, children, contacts, EL_TYPE, enc, expectConflict, RL_TYPE } from './helpers.ts';

describe('RFC 4825 §11 error conditions over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  let etag: string;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { server: { maxBodyBytes: 4096 } } });
    c = gw.client();
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    const r = await c.put(ALICE_RL, contacts(), RL_TYPE);
    expect([200, 201]).toContain(r.status);
    etag = r.headers.get('etag') as string;
  });

  const sel = (s: string) => `${ALICE_RL}/~~/${enc(s)}`;
  /** The stored document did not change. */
  async function unchanged(): Promise<void> {
    const r = await c.get(ALICE_RL);
    expect(r.headers.get('etag')).toBe(etag);
    expect(r.body).toBe(contacts());
  }

  describe('§11.2 409 conditions', () => {
    it('cannot-insert: the body does not match the predicate of the URI (§8.2.3)', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:a@example.com"]'), '<entry uri="sip:b@example.com"/>', EL_TYPE);
      expectConflict(r, 'cannot-insert');
      await unchanged();
    });

    it('cannot-insert: the body has another element name than the step', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:a@example.com"]'), '<list name="x"/>', EL_TYPE);
      expectConflict(r, 'cannot-insert');
      await unchanged();
    });

    it('no-parent: <ancestor> is the closest existing ancestor (an element)', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/list[@name="nope"]/entry[@uri="sip:z@example.com"]'), '<entry uri="sip:z@example.com"/>', EL_TYPE);
      const cond = expectConflict(r, 'no-parent');
      const ancestor = children(cond, 'ancestor')[0]?.textContent ?? '';
      expect(decodeURIComponent(ancestor)).toBe('/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="friends"]');
      // The ancestor URI is usable as is: it selects the friends list.
      const got = await c.get(ancestor.slice('/xcap-root'.length));
      expect(got.status).toBe(200);
      expect(got.body).toContain('name="friends"');
      await unchanged();
    });

    it('no-parent: <ancestor> is the document when no step below the root exists', async () => {
      const r = await c.put(sel('resource-lists/list[@name="nope"]/entry[@uri="sip:z@example.com"]'), '<entry uri="sip:z@example.com"/>', EL_TYPE);
      const cond = expectConflict(r, 'no-parent');
      const ancestor = children(cond, 'ancestor')[0]?.textContent ?? '';
      expect(decodeURIComponent(ancestor)).toMatch(/\/resource-lists(\/users\/sip:alice@example\.com\/index(\/~~\/resource-lists)?)$/);
      await unchanged();
    });

    it('no-parent: element PUT into a document that does not exist', async () => {
      const r = await c.put('/resource-lists/users/sip:alice@example.com/missing/~~/resource-lists/list%5B@name=%22a%22%5D', '<list name="a"/>', EL_TYPE);
      const cond = expectConflict(r, 'no-parent');
      expect(children(cond, 'ancestor')[0]?.textContent).toBe('/xcap-root');
      expect((await c.get('/resource-lists/users/sip:alice@example.com/missing')).status).toBe(404);
    });

    it('no-parent: attribute PUT on an element that does not exist', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:nobody@example.com"]/@x:a') + '?xmlns(x=urn:x)', 'v', ATT_TYPE);
      expectConflict(r, 'no-parent');
      await unchanged();
    });

    it('cannot-delete: deleting entry[1] would make the URI select the next entry (§8.3)', async () => {
      const r = await c.delete(sel('resource-lists/list[@name="friends"]/entry[1]'));
      expectConflict(r, 'cannot-delete');
      await unchanged();
    });

    it('cannot-delete: the root element', async () => {
      expectConflict(await c.delete(sel('resource-lists')), 'cannot-delete');
      await unchanged();
    });

    it('not-xml-frag: element body that is not one element', async () => {
      const sel1 = sel('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]');
      expectConflict(await c.put(sel1, '<entry uri="sip:x@example.com"/><entry uri="sip:y@example.com"/>', EL_TYPE), 'not-xml-frag');
      expectConflict(await c.put(sel1, 'just text', EL_TYPE), 'not-xml-frag');
      expectConflict(await c.put(sel1, '<entry uri="sip:x@example.com">', EL_TYPE), 'not-xml-frag');
      await unchanged();
    });

    it('not-xml-att-value: attribute body with < or a bad reference', async () => {
      const at = sel('resource-lists/list[@name="friends"]/@name');
      expectConflict(await c.put(at, 'a<b', ATT_TYPE), 'not-xml-att-value');
      expectConflict(await c.put(at, 'a &bogus; b', ATT_TYPE), 'not-xml-att-value');
      expectConflict(await c.put(at, 'both " and \' quotes', ATT_TYPE), 'not-xml-att-value');
      await unchanged();
    });

    it('schema-validation-error: an element the schema does not allow there', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/bogus'), '<bogus/>', EL_TYPE);
      expectConflict(r, 'schema-validation-error');
      await unchanged();
    });

    it('schema-validation-error: a whole document missing a required attribute', async () => {
      const r = await c.put(ALICE_RL, contacts().replace(' uri="sip:erin@example.com"', ''), RL_TYPE);
      expectConflict(r, 'schema-validation-error');
      await unchanged();
    });

    it('uniqueness-failure: <exists field> names the duplicate and <alt-value>s are free values', async () => {
      const r = await c.put(sel('resource-lists/list[@name="friends"]/entry[3]'), '<entry uri="sip:bob@example.com"/>', EL_TYPE);
      const cond = expectConflict(r, 'uniqueness-failure');
      const exists = children(cond, 'exists');
      expect(exists).toHaveLength(1);
      const field = exists[0]!.getAttribute('field') as string;
      expect(field).toMatch(/@uri$/);
      const alts = children(exists[0]!, 'alt-value').map((a) => a.textContent);
      expect(alts.length).toBeGreaterThan(0);
      for (const alt of alts) expect(['sip:bob@example.com', 'sip:carol@example.com']).not.toContain(alt);
      // The suggested value is accepted.
      await unchanged();
      const ok = await c.put(sel('resource-lists/list[@name="friends"]/entry[3]'), `<entry uri="${alts[0]}"/>`, EL_TYPE);
      expect(ok.status).toBe(201);
      expect((await c.get(sel(`resource-lists/list[@name="friends"]/entry[@uri="${alts[0]}"]`))).status).toBe(200);
    });

    it('not-utf-8: invalid UTF-8 in a document, element or attribute body', async () => {
      const latin1 = Buffer.from(contacts().replace('Bob', 'B\u00f6b'), 'latin1');
      expectConflict(await c.put(ALICE_RL, latin1, RL_TYPE), 'not-utf-8');
      expectConflict(await c.put(sel('resource-lists/list[1]/entry[1]/display-name'), Buffer.from([0x3c, 0x64, 0xff, 0x3e]), EL_TYPE), 'not-utf-8');
      expectConflict(await c.put(sel('resource-lists/list[1]/@name'), Buffer.from([0xc3, 0x28]), ATT_TYPE), 'not-utf-8');
      await unchanged();
    });

    it('not-well-formed: a document that is not XML', async () => {
      expectConflict(await c.put(ALICE_RL, '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>', RL_TYPE), 'not-well-formed');
      expectConflict(await c.put(ALICE_RL, 'hello', RL_TYPE), 'not-well-formed');
      await unchanged();
    });

    it('constraint-failure: an entry-ref that is not a relative reference (RFC 4826 §3.4.5)', async () => {
      const r = await c.put(sel('resource-lists/list[1]/entry-ref[@ref="http://elsewhere/x"]'), '<entry-ref ref="http://elsewhere/x"/>', EL_TYPE);
      expectConflict(r, 'constraint-failure');
      await unchanged();
    });
  });

  describe('§8 other statuses', () => {
    it('404 for a missing document, a selector selecting nothing, a missing attribute, an unknown auid', async () => {
      expect((await c.get('/resource-lists/users/sip:alice@example.com/nothing')).status).toBe(404);
      expect((await c.get(sel('resource-lists/list[@name="none"]'))).status).toBe(404);
      expect((await c.get(sel('resource-lists/list[9]'))).status).toBe(404);
      expect((await c.get(sel('resource-lists/list[1]/@missing'))).status).toBe(404);
      expect((await c.delete(sel('resource-lists/list[@name="none"]'))).status).toBe(404);
      expect((await c.get('/no-such-auid/users/sip:alice@example.com/index')).status).toBe(404);
    });

    it('405 + Allow: PUT/DELETE of namespace bindings', async () => {
      const ns = sel('resource-lists/list[1]/namespace::*');
      for (const r of [await c.put(ns, '<list/>', EL_TYPE), await c.delete(ns)]) {
        expect(r.status).toBe(405);
        expect(r.headers.get('allow')).toBe('GET');
      }
      await unchanged();
    });

    it('405 + Allow: PUT/DELETE on generated documents (xcap-caps, rls-services global/index, xcap-directory)', async () => {
      const admin = gw.client('admin', 'admin-secret');
      for (const [path, type] of [
        ['/xcap-caps/global/index', 'application/xcap-caps+xml'],
        ['/rls-services/global/index', 'application/rls-services+xml'],
      ] as const) {
        const put = await admin.put(path, '<x/>', type);
        expect(put.status, path).toBe(405);
        expect(put.headers.get('allow')).toContain('GET');
        expect((await admin.delete(path)).status).toBe(405);
        expect((await admin.get(path)).status).toBe(200);
      }
      const dir = '/org.openmobilealliance.xcap-directory/users/sip:alice@example.com/directory.xml';
      const put = await c.put(dir, '<x/>', 'application/vnd.oma.xcap-directory+xml');
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET');
      expect((await c.delete(dir)).status).toBe(405);
      expect((await c.get(dir)).status).toBe(200);
    });

    it('405 + Allow for an unknown method', async () => {
      for (const m of ['POST', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL']) {
        const r = await c.request(m, ALICE_RL);
        expect(r.status, m).toBe(405);
        expect(r.headers.get('allow')).toMatch(/GET.*PUT.*DELETE/);
      }
      // A method token Node's HTTP parser does not know never reaches the server: 400, and it keeps serving.
      expect((await c.request('BREW', ALICE_RL)).status).toBe(400);
      await unchanged();
    });

    it('413 over server.maxBodyBytes (configured 4096 here), with and without Content-Length', async () => {
      const big = contacts().replace('</resource-lists>', `<list name="pad">${'<entry uri="sip:pad@example.com"/>'.repeat(1)}${' '.repeat(5000)}</list></resource-lists>`);
      expect((await c.put(ALICE_RL, big, RL_TYPE)).status).toBe(413);
      await unchanged();
      // Chunked (no Content-Length): the limit still holds.
      const chunked = await new Promise<number>((resolve, reject) => {
        void import('node:http').then(({ request }) => {
          const u = new URL(gw.url + ALICE_RL);
          const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: u.pathname, headers: { 'Content-Type': RL_TYPE, Authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.write(big.slice(0, 3000));
          req.end(big.slice(3000));
        });
      });
      expect(chunked).toBe(413);
      await unchanged();
      // Just under the limit is fine.
      expect((await c.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(200);
    });

    it('415 for a Content-Type that does not fit the target', async () => {
      expect((await c.put(ALICE_RL, contacts(), 'application/xml')).status).toBe(415);
      expect((await c.put(ALICE_RL, contacts(), EL_TYPE)).status).toBe(415);
      expect((await c.request('PUT', ALICE_RL, { body: contacts() })).status).toBe(415);
      expect((await c.put(sel('resource-lists/list[9]'), '<list name="n"/>', RL_TYPE)).status).toBe(415);
      expect((await c.put(sel('resource-lists/list[9]'), '<list name="n"/>', ATT_TYPE)).status).toBe(415);
      expect((await c.put(sel('resource-lists/list[1]/@name'), 'n', EL_TYPE)).status).toBe(415);
      await unchanged();
      // Parameters and case do not matter.
      expect((await c.put(ALICE_RL, contacts(), 'Application/Resource-Lists+XML; charset=utf-8')).status).toBe(200);
    });
  });
});

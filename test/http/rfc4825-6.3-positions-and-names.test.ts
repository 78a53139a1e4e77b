/**
 * RFC 4825 §6.3 node selector through HTTP: positions and names.
 *
 * - position = 1*DIGIT: `[0]`, positions past the last sibling, and numbers longer than any
 *   integer are valid syntax that select nothing: GET and DELETE 404, element PUT 409
 *   cannot-insert (no-parent when it is an ancestor step that selects nothing), never 400,
 *   raw or percent-encoded, alone or with an attribute test.
 * - Unprefixed element names are in the application usage's default namespace as its
 *   specification states it (RFC 4825 §5.2), not the document's default namespace: one
 *   test per usage, standard, generated and custom.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, contacts, CP_NS, EL_TYPE, enc, expectConflict, PIDF_NS, PR_NS, RL_NS, RL_TYPE, RLS_NS } from './helpers.ts';

const HUGE = '99999999999999999999';
const ALICE = 'sip:alice@example.com';
const POLICY_TYPE = 'application/auth-policy+xml';
const CUSTOM_NS = 'urn:example:positions-and-names';
const CUSTOM_AUID = 'com.example.names';
const CUSTOM_TYPE = 'application/vnd.example.names+xml';
const CUSTOM_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${CUSTOM_NS}" elementFormDefault="qualified">
  <xs:element name="settings">
    <xs:complexType><xs:sequence><xs:element name="item" type="xs:string" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
`;

describe('RFC 4825 §6.3 positions and names over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xcapb-names-'));
    const xsd = join(dir, 'names.xsd');
    writeFileSync(xsd, CUSTOM_XSD);
    gw = await startTestGateway({
      config: { usages: { custom: [{ auid: CUSTOM_AUID, namespace: CUSTOM_NS, mimeType: CUSTOM_TYPE, xsd, scopes: { global: false, users: true } }] } },
    });
    c = gw.client();
  });
  afterAll(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('position = 1*DIGIT: [0] and positions past the end select nothing', () => {
    beforeEach(async () => {
      expect([200, 201]).toContain((await c.put(ALICE_RL, contacts(), RL_TYPE)).status);
    });

    const FRIENDS = 'resource-lists/list[@name="friends"]';
    const nothing = [
      `${FRIENDS}/entry[0]`,
      `${FRIENDS}/entry[3]`,
      `${FRIENDS}/entry[${HUGE}]`,
      `${FRIENDS}/entry[${'9'.repeat(400)}]`,
      `${FRIENDS}/entry[0][@uri="sip:bob@example.com"]`,
      `${FRIENDS}/entry[${HUGE}][@uri="sip:bob@example.com"]`,
      'resource-lists/list[0]',
      'resource-lists[0]',
      `resource-lists/*[0]`,
    ];

    it.each(nothing)('GET %s: 404, raw and percent-encoded', async (s) => {
      for (const path of [`${ALICE_RL}/~~/${s}`, `${ALICE_RL}/~~/${enc(s)}`]) {
        expect((await c.get(path)).status, path).toBe(404);
        expect((await c.get(`${path}/@uri`)).status, path).toBe(404);
        expect((await c.get(`${path}/namespace::*`)).status, path).toBe(404);
      }
    });

    it.each(nothing)('DELETE %s (and its attribute): 404, the document unchanged', async (s) => {
      for (const path of [`${ALICE_RL}/~~/${enc(s)}`, `${ALICE_RL}/~~/${enc(s)}/@uri`]) expect((await c.delete(path)).status, path).toBe(404);
      expect((await c.get(ALICE_RL)).body).toBe(contacts());
    });

    it.each([
      `${FRIENDS}/entry[0]`,
      `${FRIENDS}/entry[4]`,
      `${FRIENDS}/entry[${HUGE}]`,
      `${FRIENDS}/entry[0][@uri="sip:new@example.com"]`,
      `${FRIENDS}/entry[${HUGE}][@uri="sip:new@example.com"]`,
      'resource-lists[0]',
    ])('element PUT %s: 409 cannot-insert, the document unchanged', async (s) => {
      for (const path of [`${ALICE_RL}/~~/${s}`, `${ALICE_RL}/~~/${enc(s)}`]) {
        expectConflict(await c.put(path, '<entry uri="sip:new@example.com"/>', EL_TYPE), 'cannot-insert');
      }
      expect((await c.get(ALICE_RL)).body).toBe(contacts());
    });

    it('PUT under an ancestor step that selects nothing: 409 no-parent, for elements and attributes', async () => {
      expectConflict(await c.put(`${ALICE_RL}/~~/${enc('resource-lists/list[0]/entry[@uri="sip:n@x"]')}`, '<entry uri="sip:n@x"/>', EL_TYPE), 'no-parent');
      expectConflict(await c.put(`${ALICE_RL}/~~/${enc(`resource-lists/list[${HUGE}]/@name`)}`, 'x', ATT_TYPE), 'no-parent');
      expectConflict(await c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[0]/@uri`)}`, 'sip:n@x', ATT_TYPE), 'no-parent');
      expect((await c.get(ALICE_RL)).body).toBe(contacts());
    });

    it('the next position past the end inserts (201) and reads back', async () => {
      const s = `${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[3]`)}`;
      expect((await c.put(s, '<entry uri="sip:third@example.com"/>', EL_TYPE)).status).toBe(201);
      expect((await c.get(s)).body).toBe('<entry uri="sip:third@example.com"/>');
    });
  });

  describe('unprefixed names are in the usage default namespace (RFC 4825 §5.2), per usage', () => {
    /** PUTs `body` at `doc`, reads it back, then checks `selects` answer 200 with `expected` and `misses` 404. */
    async function check(doc: string, type: string, body: string, selects: Array<[selector: string, expected: string]>, misses: string[]): Promise<void> {
      expect([200, 201]).toContain((await c.put(doc, body, type)).status);
      expect((await c.get(doc)).body).toBe(body);
      for (const [s, expected] of selects) {
        const r = await c.get(`${doc}/~~/${s}`);
        expect(r.status, s).toBe(200);
        expect(r.body, s).toBe(expected);
      }
      for (const s of misses) expect((await c.get(`${doc}/~~/${s}`)).status, s).toBe(404);
    }

    it('resource-lists (RFC 4826 §3.4): resource-lists namespace, even when the document uses a prefix for it', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<rl:resource-lists xmlns:rl="${RL_NS}" xmlns="urn:example:other"><rl:list name="a"><rl:entry uri="sip:a@x"/></rl:list></rl:resource-lists>\n`;
      await check(`/resource-lists/users/${ALICE}/prefixed`, RL_TYPE, body, [[enc('resource-lists/list/entry'), '<rl:entry uri="sip:a@x"/>']], [`${enc('o:resource-lists')}?xmlns(o=urn:example:other)`]);
    });

    it('rls-services (RFC 4826 §4.4): rls-services namespace; the resource-lists entries inside need a prefix', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="${RLS_NS}" xmlns:rl="${RL_NS}"><service uri="sip:names@example.com"><list><rl:entry uri="sip:a@x"/></list><packages><package>presence</package></packages></service></rls-services>\n`;
      await check(
        `/rls-services/users/${ALICE}/index`,
        'application/rls-services+xml',
        body,
        [
          [enc('rls-services/service/packages/package'), '<package>presence</package>'],
          [`${enc('rls-services/service/list/r:entry')}?xmlns(r=${RL_NS})`, '<rl:entry uri="sip:a@x"/>'],
        ],
        [enc('rls-services/service/list/entry')],
      );
    });

    it('pres-rules (RFC 5025 §9): pres-rules namespace, not common-policy', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset xmlns:cr="${CP_NS}" xmlns:pr="${PR_NS}"><cr:rule id="a"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>\n`;
      await check(
        `/pres-rules/users/${ALICE}/index`,
        POLICY_TYPE,
        body,
        // The unprefixed last step is pres-rules' sub-handling; the common-policy steps need a prefix.
        [[`${enc('c:ruleset/c:rule[@id="a"]/c:actions/sub-handling')}?xmlns(c=${CP_NS})`, '<pr:sub-handling>allow</pr:sub-handling>']],
        [enc('ruleset'), enc('ruleset/rule[@id="a"]'), `${enc('c:ruleset/c:rule/c:actions/c:sub-handling')}?xmlns(c=${CP_NS})`],
      );
    });

    it('org.openmobilealliance.pres-rules (OMA Presence SIMPLE XDM): common-policy namespace', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset xmlns:cr="${CP_NS}" xmlns:pr="${PR_NS}"><cr:rule id="a"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>\n`;
      await check(
        `/org.openmobilealliance.pres-rules/users/${ALICE}/pres-rules`,
        POLICY_TYPE,
        body,
        [[`${enc('ruleset/rule[@id="a"]/actions/p:sub-handling')}?xmlns(p=${PR_NS})`, '<pr:sub-handling>allow</pr:sub-handling>']],
        [enc('ruleset/rule/actions/sub-handling')],
      );
    });

    it('pidf-manipulation (RFC 4827): pidf namespace', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<p:presence xmlns:p="${PIDF_NS}" entity="${ALICE}"><p:tuple id="t1"><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>\n`;
      await check(`/pidf-manipulation/users/${ALICE}/index`, 'application/pidf+xml', body, [[enc('presence/tuple[@id="t1"]/status/basic'), '<p:basic>open</p:basic>']], [enc('presence/tuple[0]')]);
    });

    it('xcap-caps (RFC 4825 §12): xcap-caps namespace, in the generated document', async () => {
      const r = await c.get(`/xcap-caps/global/index/~~/${enc('xcap-caps/auids/auid[1]')}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^<auid>[^<]+<\/auid>$/);
      expect((await c.get(`/xcap-caps/global/index/~~/${enc('xcap-caps/auids/auid[0]')}`)).status).toBe(404);
    });

    it('org.openmobilealliance.xcap-directory (OMA XDM): xcap-directory namespace, in the generated document', async () => {
      expect([200, 201]).toContain((await c.put(ALICE_RL, contacts(), RL_TYPE)).status);
      const base = `/org.openmobilealliance.xcap-directory/users/${ALICE}/directory.xml/~~/`;
      const r = await c.get(base + enc('xcap-directory/folder[@auid="resource-lists"]/entry[1]/@uri'));
      expect(r.status).toBe(200);
      expect(r.body).toContain('/resource-lists/users/');
      expect((await c.get(base + enc('xcap-directory/folder[0]'))).status).toBe(404);
    });

    it('org.openmobilealliance.pres-content (OMA): pres-content namespace', async () => {
      const png = '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082';
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<pc:content xmlns:pc="urn:oma:xml:prs:pres-content"><pc:mime-type>image/png</pc:mime-type><pc:encoding>base64</pc:encoding><pc:data>${Buffer.from(png, 'hex').toString('base64')}</pc:data></pc:content>\n`;
      await check(`/org.openmobilealliance.pres-content/users/${ALICE}/oma_status-icon/rcs_status_icon`, 'application/vnd.oma.pres-content+xml', body, [[enc('content/mime-type'), '<pc:mime-type>image/png</pc:mime-type>']], [enc('content/data[2]')]);
    });

    it('a custom usage from config: the namespace it declares', async () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<s:settings xmlns:s="${CUSTOM_NS}"><s:item>one</s:item><s:item>two</s:item></s:settings>\n`;
      await check(`/${CUSTOM_AUID}/users/${ALICE}/names`, CUSTOM_TYPE, body, [[enc('settings/item[2]'), '<s:item>two</s:item>']], [enc('settings/item[0]'), enc('settings/item[3]')]);
    });
  });
});

/**
 * Presence usages over HTTP: pres-rules (RFC 5025 on common-policy RFC 4745) under every
 * document-name alias, org.openmobilealliance.pres-rules, and pidf-manipulation (RFC 4827).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ATT_TYPE, children, CP_NS, EL_TYPE, enc, expectConflict, PIDF_NS, PR_NS, xml } from './helpers.ts';

const POLICY_TYPE = 'application/auth-policy+xml';
const OMA_CP_NS = 'urn:oma:xml:xdm:common-policy';

function ruleset(extraCondition = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="${CP_NS}" xmlns:pr="${PR_NS}" xmlns:ocp="${OMA_CP_NS}">
  <cr:rule id="wp_prs_allow_own">
    <cr:conditions><cr:identity><cr:one id="sip:alice@example.com"/></cr:identity>${extraCondition}</cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
    <cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-all-attributes/></cr:transformations>
  </cr:rule>
  <cr:rule id="block">
    <cr:conditions><cr:identity><cr:one id="sip:spam@example.com"/></cr:identity></cr:conditions>
    <cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>
`;
}

describe('RFC 5025 pres-rules, OMA pres-rules and RFC 4827 pidf-manipulation over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway();
    c = gw.client();
  });
  afterAll(() => gw.stop());

  it('RFC 5025 §9: a ruleset under each alias name is one document, application/auth-policy+xml', async () => {
    const body = ruleset();
    expect((await c.put('/pres-rules/users/sip:alice@example.com/index.xml', body, POLICY_TYPE)).status).toBe(201);
    const tags = new Set<string>();
    for (const name of ['index', 'presrules', 'pres-rules', 'index.xml']) {
      const r = await c.get(`/pres-rules/users/sip:alice@example.com/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.headers.get('content-type')).toBe(POLICY_TYPE);
      expect(r.body).toBe(body);
      tags.add(r.headers.get('etag') as string);
    }
    expect(tags.size).toBe(1);
    // Selectors work through an alias too, with prefixes bound by xmlns().
    const q = `?xmlns(cr=${CP_NS})xmlns(pr=${PR_NS})`;
    const action = await c.get(`/pres-rules/users/sip:alice@example.com/presrules/~~/${enc('cr:ruleset/cr:rule[@id="block"]/cr:actions/pr:sub-handling')}${q}`);
    expect(action.status).toBe(200);
    // As stored (RFC 4825 §8.3): the pr prefix is declared on the ruleset, not added here.
    expect(action.body).toBe('<pr:sub-handling>block</pr:sub-handling>');
    const frag = `<pr:sub-handling xmlns:pr="${PR_NS}">polite-block</pr:sub-handling>`;
    const put = await c.put(`/pres-rules/users/sip:alice@example.com/pres-rules/~~/${enc('cr:ruleset/cr:rule[@id="block"]/cr:actions/pr:sub-handling')}${q}`, frag, EL_TYPE);
    expect(put.status).toBe(200);
    expect((await c.get('/pres-rules/users/sip:alice@example.com/index')).body).toContain(`<cr:actions>${frag}</cr:actions>`);
  });

  it('RFC 5025 §3.2.1: sub-handling outside its enumeration is a schema-validation-error', async () => {
    const q = `?xmlns(cr=${CP_NS})xmlns(pr=${PR_NS})`;
    const r = await c.put(`/pres-rules/users/sip:alice@example.com/index/~~/${enc('cr:ruleset/cr:rule[@id="block"]/cr:actions/pr:sub-handling')}${q}`, `<pr:sub-handling xmlns:pr="${PR_NS}">maybe</pr:sub-handling>`, EL_TYPE);
    expectConflict(r, 'schema-validation-error');
    expect((await c.get('/pres-rules/users/sip:alice@example.com/index')).body).toContain('polite-block');
  });

  it('RFC 4745 §7: rule ids are unique within the ruleset', async () => {
    const r = await c.put(`/pres-rules/users/sip:alice@example.com/index/~~/${enc('cr:ruleset/cr:rule[3]')}?xmlns(cr=${CP_NS})`, `<cr:rule xmlns:cr="${CP_NS}" id="block"/>`, EL_TYPE);
    const cond = expectConflict(r, 'uniqueness-failure');
    const exists = children(cond, 'exists')[0]!;
    // A node selector read with the pres-rules default namespace (RFC 5025 §9), where `ruleset` would select nothing.
    expect(exists.getAttribute('field')).toBe('*/*%5B3%5D/@id');
    const alt = children(exists, 'alt-value')[0]?.textContent as string;
    expect(alt).not.toBe('block');
    const ok = await c.put(`/pres-rules/users/sip:alice@example.com/index/~~/${enc('cr:ruleset/cr:rule[3]')}?xmlns(cr=${CP_NS})`, `<cr:rule xmlns:cr="${CP_NS}" id="${alt}"/>`, EL_TYPE);
    expect(ok.status).toBe(201);
    expect((await c.get(`/pres-rules/users/sip:alice@example.com/index/~~/${enc(`cr:ruleset/cr:rule[@id="${alt}"]`)}?xmlns(cr=${CP_NS})`)).status).toBe(200);
  });

  it('org.openmobilealliance.pres-rules: OMA conditions (external-list, other-identity) are accepted', async () => {
    const doc = '/org.openmobilealliance.pres-rules/users/sip:alice@example.com/pres-rules';
    const body = ruleset(`<ocp:external-list><ocp:entry anc="${gw.url}/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22oma_buddylist%22%5D"/></ocp:external-list>`)
      .replace('<cr:rule id="block">', '<cr:rule id="block">')
      .replace('<cr:one id="sip:spam@example.com"/></cr:identity>', '<cr:one id="sip:spam@example.com"/></cr:identity><ocp:other-identity/>');
    const put = await c.put(doc, body, POLICY_TYPE);
    expect(put.status).toBe(201);
    const get = await c.get(doc);
    expect(get.headers.get('content-type')).toBe(POLICY_TYPE);
    expect(get.body).toBe(body);
    const bad = body.replace('<ocp:other-identity/>', '<ocp:other-identity><x/></ocp:other-identity>');
    expectConflict(await c.put(doc, bad, POLICY_TYPE), 'schema-validation-error');
    expect((await c.get(doc)).body).toBe(body);
  });

  it('RFC 4827 pidf-manipulation: PUT a presence document, edit the note, read back as application/pidf+xml', async () => {
    const doc = '/pidf-manipulation/users/sip:alice@example.com/index';
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="${PIDF_NS}" entity="sip:alice@example.com">
  <tuple id="t1"><status><basic>open</basic></status><note>In the office</note></tuple>
</presence>
`;
    expect((await c.put(doc, body, 'application/pidf+xml')).status).toBe(201);
    const get = await c.get(doc);
    expect(get.headers.get('content-type')).toBe('application/pidf+xml');
    expect(get.body).toBe(body);
    expect((await c.put(`${doc}/~~/${enc('presence/tuple[@id="t1"]/note')}`, '<note>Out for lunch</note>', EL_TYPE)).status).toBe(200);
    expect((await c.put(`${doc}/~~/${enc('presence/tuple[@id="t1"]/note/@xml:lang')}`, 'en', ATT_TYPE)).status).toBe(201);
    const tuple = xml((await c.get(`${doc}/~~/${enc('presence/tuple[1]')}`)).body);
    expect(children(tuple, 'note')[0]?.textContent).toBe('Out for lunch');
    expect(children(tuple, 'note')[0]?.getAttribute('xml:lang')).toBe('en');
    expectConflict(await c.put(`${doc}/~~/${enc('presence/tuple[@id="t1"]/status/basic')}`, '<basic>sleepy</basic>', EL_TYPE), 'schema-validation-error');
    expectConflict(await c.put(doc, body.replace(' entity="sip:alice@example.com"', ''), 'application/pidf+xml'), 'schema-validation-error');
  });
});

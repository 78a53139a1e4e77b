/**
 * RFC 4825 §7.5, §7.7, §7.8: DELETEs and attribute PUTs on a document the server has just
 * validated (its cached DOM) are judged from the element they change: its start tag, its
 * children's start tags and its siblings' keys (RFC 4826 §3.4.5), not the whole document.
 * A client must see what validating the whole document gives: the same 409 condition and
 * phrase as on the first edit after a whole-document PUT (which starts from the stored
 * text), and nothing stored.
 */
import { describe, expect, it } from 'vitest';
import { ALICE_RL, aliceWithContacts, ATT_TYPE, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';
const REF = 'resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b2%5d';
const DOC = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.com"/>
    <entry-ref ref="${REF}"/>
    <external anchor="http://xcap.example.com/x"/>
  </list>
  <list name="work"/>
</resource-lists>
`;

/** [what is wrong, method, selector, attribute value for a PUT, condition]. */
const REFUSED: ReadonlyArray<readonly [string, 'PUT' | 'DELETE', string, string, string]> = [
  ['a uri its sibling has', 'PUT', `${FRIENDS}/entry[2]/@uri`, 'sip:bob@example.com', 'uniqueness-failure'],
  ['a list name its sibling has', 'PUT', 'resource-lists/list[2]/@name', 'friends', 'uniqueness-failure'],
  ['an attribute the schema does not declare', 'PUT', `${FRIENDS}/entry[1]/@bogus`, 'x', 'schema-validation-error'],
  ['an absolute entry-ref', 'PUT', `${FRIENDS}/entry-ref/@ref`, '/xcap-root/x', 'constraint-failure'],
  ['an ftp anchor', 'PUT', `${FRIENDS}/external/@anchor`, 'ftp://x/y', 'constraint-failure'],
  ['an entry without its required uri', 'DELETE', `${FRIENDS}/entry[1]/@uri`, '', 'schema-validation-error'],
  // The §3.4.5 rule on ref words it (an empty ref is no path into a resource-lists document).
  ['an entry-ref without its required ref', 'DELETE', `${FRIENDS}/entry-ref/@ref`, '', 'constraint-failure'],
];

describe('RFC 4825 §7.5, §7.7, §7.8 DELETE and attribute PUT validated from the element they change', () => {
  const alice = aliceWithContacts({ once: true });
  const seed = async (): Promise<void> => {
    expect([200, 201]).toContain((await alice.c.put(ALICE_RL, DOC, RL_TYPE)).status);
  };
  const send = (method: 'PUT' | 'DELETE', selector: string, value: string) =>
    method === 'PUT' ? alice.c.put(`${ALICE_RL}/~~/${enc(selector)}`, value, ATT_TYPE) : alice.c.delete(`${ALICE_RL}/~~/${enc(selector)}`);

  for (const [what, method, selector, value, condition] of REFUSED) {
    it(`${method} giving ${what}: the same ${condition} before and after the server caches the document`, async () => {
      await seed();
      // First edit after the whole-document PUT: the server starts from the stored text.
      const cold = await send(method, selector, value);
      expectConflict(cold, condition);
      // Two valid attribute PUTs leave the server holding the validated document it wrote
      // (it keeps the parse of a document it has met more than once lately).
      for (let i = 0; i < 2; i++) expect((await alice.c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[1]/@uri`)}`, 'sip:bob@example.com', ATT_TYPE)).status).toBe(200);
      const warm = await send(method, selector, value);
      expect({ status: warm.status, type: warm.headers.get('content-type'), body: warm.body }).toEqual({ status: 409, type: cold.headers.get('content-type'), body: cold.body });
      // Nothing was stored by the refused edits.
      expect((await alice.c.get(ALICE_RL)).body).toBe(DOC);
    });
  }

  it('a run of valid DELETEs and attribute PUTs on the cached document is stored as each one asked', async () => {
    await seed();
    const steps: Array<[method: 'PUT' | 'DELETE', selector: string, value: string, status: number]> = [
      ['PUT', `${FRIENDS}/entry[2]/@uri`, 'sip:dave@example.com', 200],
      ['PUT', 'resource-lists/list[2]/@name', 'colleagues', 200],
      ['DELETE', `${FRIENDS}/entry[@uri="sip:bob@example.com"]`, '', 200],
      ['PUT', `${FRIENDS}/entry/@uri`, 'sip:bob@example.com', 200],
      ['DELETE', `${FRIENDS}/external/@anchor`, '', 200],
      ['PUT', `${FRIENDS}/entry-ref/@ref`, `${REF}/entry`, 200],
      ['DELETE', 'resource-lists/list[2]', '', 200],
    ];
    for (const [method, selector, value, status] of steps) {
      const r = await send(method, selector, value);
      expect(r.status, `${method} ${selector}: ${r.body}`).toBe(status);
    }
    expect((await alice.c.get(ALICE_RL)).body).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"/>
    <entry-ref ref="${REF}/entry"/>
    <external/>
  </list>
</resource-lists>
`);
    // The document is still one the whole-document check accepts.
    const whole = (await alice.c.get(ALICE_RL)).body;
    expect((await alice.c.put(ALICE_RL, whole, RL_TYPE)).status).toBe(200);
    expect((await alice.c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[@uri="sip:x@example.com"]`)}`, '<entry uri="sip:x@example.com"/>', EL_TYPE)).status).toBe(201);
  });
});

const CP = 'urn:ietf:params:xml:ns:common-policy';
const PR = 'urn:ietf:params:xml:ns:pres-rules';

/** A usage's document and the edits of it that must be refused: [what, method, selector, body, condition]. */
interface UsageEdits {
  readonly uri: string;
  readonly type: string;
  readonly doc: string;
  /** A valid attribute PUT that changes nothing, so the server holds the DOM it validated. */
  readonly warm: readonly [selector: string, value: string];
  readonly refused: ReadonlyArray<readonly [string, 'PUT' | 'DELETE', string, string, string]>;
}

const USAGES: Record<string, UsageEdits> = {
  'org.openmobilealliance.pres-rules': {
    uri: `/org.openmobilealliance.pres-rules/users/sip:alice@example.com/pres-rules`,
    type: 'application/auth-policy+xml',
    doc: `<?xml version="1.0" encoding="UTF-8"?>
<ruleset xmlns="${CP}" xmlns:pr="${PR}">
  <rule id="allow"><conditions><identity><one id="sip:bob@example.com"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule>
  <rule id="block"><conditions><identity><one id="sip:eve@example.com"/></identity></conditions><actions><pr:sub-handling>block</pr:sub-handling></actions></rule>
</ruleset>
`,
    warm: ['ruleset/rule[1]/conditions/identity/one/@id', 'sip:bob@example.com'],
    refused: [
      ['a rule id its sibling has', 'PUT', 'ruleset/rule[2]/@id', 'allow', 'uniqueness-failure'],
      ['a rule with its sibling id', 'PUT', 'ruleset/rule[3]', '<rule id="allow"/>', 'uniqueness-failure'],
      ['a rule id that is no NCName', 'PUT', 'ruleset/rule[2]/@id', '2nd', 'schema-validation-error'],
      ['conditions after actions', 'PUT', 'ruleset/rule[1]/*[3]', '<conditions/>', 'schema-validation-error'],
      ['a sub-handling out of its enumeration', 'PUT', 'ruleset/rule[1]/actions/*[1]', `<pr:sub-handling xmlns:pr="${PR}">maybe</pr:sub-handling>`, 'schema-validation-error'],
      ['a one without its required id', 'DELETE', 'ruleset/rule[1]/conditions/identity/one/@id', '', 'schema-validation-error'],
      ['an identity left empty', 'DELETE', 'ruleset/rule[1]/conditions/identity/one', '', 'schema-validation-error'],
    ],
  },
  'rls-services': {
    uri: '/rls-services/users/sip:alice@example.com/index',
    type: 'application/rls-services+xml',
    doc: `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="${RL_NS}">
  <service uri="sip:friends@example.com"><list><rl:entry uri="sip:bob@example.com"/><rl:entry uri="sip:carol@example.com"/></list><packages><package>presence</package></packages></service>
  <service uri="sip:work@example.com"><list><rl:list name="team"><rl:entry uri="sip:dave@example.com"/></rl:list></list></service>
</rls-services>
`,
    warm: ['rls-services/service[1]/@uri', 'sip:friends@example.com'],
    refused: [
      ['a service uri its sibling has', 'PUT', 'rls-services/service[2]/@uri', 'sip:friends@example.com', 'uniqueness-failure'],
      ['an inline entry uri its sibling has', 'PUT', 'rls-services/service[1]/list/*[2]/@uri', 'sip:bob@example.com', 'uniqueness-failure'],
      // A nested list's keys are the schema's (xs:unique), as for the whole document.
      ['a nested entry repeated', 'PUT', 'rls-services/service[2]/list/*[1]/*[2]', `<rl:entry xmlns:rl="${RL_NS}" uri="sip:dave@example.com"/>`, 'schema-validation-error'],
      ['an absolute entry-ref', 'PUT', 'rls-services/service[1]/list/*[3]', `<rl:entry-ref xmlns:rl="${RL_NS}" ref="/xcap-root/x"/>`, 'constraint-failure'],
      ['a resource-list of another server', 'PUT', 'rls-services/service[3]', '<service uri="sip:new@example.com"><resource-list>http://elsewhere.example.net/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b1%5d</resource-list></service>', 'constraint-failure'],
      ['a second list', 'PUT', 'rls-services/service[2]/list[2]', '<list/>', 'schema-validation-error'],
      ['a service without its members', 'DELETE', 'rls-services/service[2]/list', '', 'schema-validation-error'],
    ],
  },
  'pidf-manipulation': {
    uri: '/pidf-manipulation/users/sip:alice@example.com/index',
    type: 'application/pidf+xml',
    doc: `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:alice@example.com">
  <tuple id="a"><status><basic>open</basic></status><contact priority="0.8">sip:alice@192.0.2.1</contact></tuple>
  <tuple id="b"><status><basic>closed</basic></status></tuple>
</presence>
`,
    warm: ['presence/tuple[1]/contact/@priority', '0.8'],
    refused: [
      ['a tuple id its sibling has', 'PUT', 'presence/tuple[2]/@id', 'a', 'schema-validation-error'],
      ['a tuple with its sibling id', 'PUT', 'presence/tuple[3]', '<tuple id="a"><status/></tuple>', 'schema-validation-error'],
      ['a basic out of its enumeration', 'PUT', 'presence/tuple[1]/status/basic', '<basic>ajar</basic>', 'schema-validation-error'],
      ['a priority above 1', 'PUT', 'presence/tuple[1]/contact/@priority', '2', 'schema-validation-error'],
      ['a tuple without its status', 'DELETE', 'presence/tuple[2]/status', '', 'schema-validation-error'],
    ],
  },
};

describe('RFC 4825 §7.4-§7.8 edits of other usages validated from the part they change', () => {
  const alice = aliceWithContacts({ once: true });
  for (const [auid, u] of Object.entries(USAGES)) {
    const send = (method: 'PUT' | 'DELETE', selector: string, body: string) =>
      method === 'DELETE' ? alice.c.delete(`${u.uri}/~~/${enc(selector)}`) : alice.c.put(`${u.uri}/~~/${enc(selector)}`, body, body.startsWith('<') ? EL_TYPE : ATT_TYPE);
    for (const [what, method, selector, body, condition] of u.refused) {
      it(`${auid}: ${method} giving ${what}: the same ${condition} before and after the server caches the document`, async () => {
        expect([200, 201]).toContain((await alice.c.put(u.uri, u.doc, u.type)).status);
        const cold = await send(method, selector, body);
        expectConflict(cold, condition);
        for (let i = 0; i < 2; i++) expect((await alice.c.put(`${u.uri}/~~/${enc(u.warm[0])}`, u.warm[1], ATT_TYPE)).status).toBe(200);
        const warm = await send(method, selector, body);
        expect({ status: warm.status, type: warm.headers.get('content-type'), body: warm.body }).toEqual({ status: 409, type: cold.headers.get('content-type'), body: cold.body });
        expect((await alice.c.get(u.uri)).body).toBe(u.doc);
      });
    }
  }
});

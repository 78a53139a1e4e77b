/**
 * Differential tests of edit validation for every writable application usage but
 * resource-lists (test/appusage/schema/edit-differential.test.ts): when one element of a
 * valid document changed (RFC 4825 §7.4 element PUT, §7.7 attribute PUT, §7.5 and §7.8
 * DELETE), the usage judges that part and the rules it touches instead of the whole
 * document. Over random valid documents and random edits (repeated ids and uris, children
 * out of order, values out of their types, IDs hidden in lax content), the verdict and the
 * error (class and phrase) must be those of validating the whole document, and a fast
 * 'accept' of the edit must be a libxml2 accept of the text.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Document, Element } from '@xmldom/xmldom';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childElements } from '../../src/appusage/common/dom.ts';
import { schemaFile } from '../../src/appusage/common/paths.ts';
import { createCustomUsage } from '../../src/appusage/custom.ts';
import { omaPresRules } from '../../src/appusage/oma-pres-rules/index.ts';
import { pidfManipulation } from '../../src/appusage/pidf-manipulation/index.ts';
import { createPresContentUsage } from '../../src/appusage/pres-content/index.ts';
import { presRules } from '../../src/appusage/pres-rules/index.ts';
import { rlsServices } from '../../src/appusage/rls-services/index.ts';
import { compileValidators } from '../../src/appusage/schema.ts';
import type { AppUsage, CandidateDocument, UsageContext } from '../../src/appusage/types.ts';
import type { DocKey, DocumentStore } from '../../src/store/types.ts';
import { parseDocument, serialize } from '../../src/xcap/xml.ts';
import { ALICE, context, openStore, outcome } from './context.ts';

const CP = 'urn:ietf:params:xml:ns:common-policy';
const PR = 'urn:ietf:params:xml:ns:pres-rules';
const OCP = 'urn:oma:xml:xdm:common-policy';
const RLS = 'urn:ietf:params:xml:ns:rls-services';
const RL = 'urn:ietf:params:xml:ns:resource-lists';
const PIDF = 'urn:ietf:params:xml:ns:pidf';
const PC = 'urn:oma:xml:prs:pres-content';
const PHONE = 'urn:example:phone';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** A value to take from a same-named sibling's attribute, so repeats are common. */
const SIBLING = '(a sibling value)';

interface UsageCase {
  readonly usage: AppUsage;
  readonly key: Omit<DocKey, 'auid'>;
  /** The schema and its imports, for the fast path and libxml2 on their own. */
  readonly xsd: readonly [string, ...string[]];
  /** Namespace declarations of the root element, which element bodies are parsed under too. */
  readonly decls: string;
  readonly document: fc.Arbitrary<string>;
  /** Element bodies as clients PUT them: valid, repeating a sibling's key, or breaking a rule. */
  readonly fragments: readonly string[];
  /** Attributes written or removed (`p:local` with a prefix of NS_OF). */
  readonly attributes: readonly string[];
  readonly values: readonly string[];
  /** The key attribute of an element by local name, which siblings must not repeat. */
  readonly keys: Readonly<Record<string, string>>;
  /** Extra request contexts edits are judged in (the first is the one the base document passed). */
  readonly roots?: ReadonlyArray<readonly string[]>;
}

const NS_OF: Record<string, string> = { x: 'urn:x', xml: XML_NS, pr: PR, cp: CP, rl: RL, ocp: OCP };

// pres-rules and OMA pres-rules: rule ids are xs:ID (unique across the document, lax content included).
const ruleId = fc.constantFrom('r0', 'r1', 'r2');
const identity = fc.constantFrom('<one id="sip:b@x"/>', '<one id="sip:c@x"><x:note/></one>', '<many domain="x"><except id="sip:d@x"/></many>', '<many/>');
const condition = fc.oneof(
  fc.array(identity, { minLength: 1, maxLength: 3 }).map((ids) => `<identity>${ids.join('')}</identity>`),
  fc.constantFrom('<sphere value="work"/>', '<validity><from>2026-01-01T00:00:00Z</from><until>2027-01-01T00:00:00Z</until></validity>', '<x:cond/>'),
);
const policyRule = (extraCondition: string) =>
  fc
    .record({
      id: ruleId,
      conditions: fc.option(fc.array(fc.oneof(condition, fc.constant(extraCondition)), { maxLength: 3 }), { nil: undefined }),
      actions: fc.option(fc.constantFrom('<pr:sub-handling>allow</pr:sub-handling>', '<pr:sub-handling>block</pr:sub-handling>', ''), { nil: undefined }),
      transformations: fc.option(fc.constantFrom('<pr:provide-services><pr:all-services/></pr:provide-services>', '<pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-activities>true</pr:provide-activities>'), { nil: undefined }),
      hidden: fc.boolean(),
    })
    .map((r) => {
      const conditions = r.conditions === undefined ? '' : `<conditions>${r.conditions.join('')}${r.hidden ? '<x:ext><ruleset><rule id="r9"/></ruleset></x:ext>' : ''}</conditions>`;
      const actions = r.actions === undefined ? '' : `<actions>${r.actions}</actions>`;
      const transformations = r.transformations === undefined ? '' : `<transformations>${r.transformations}</transformations>`;
      return `<rule id="${r.id}">${conditions}${actions}${transformations}</rule>`;
    });
const policyDocument = (decls: string, extraCondition: string) =>
  fc.array(policyRule(extraCondition), { maxLength: 4 }).map((rules) => `<?xml version="1.0" encoding="UTF-8"?>\n<ruleset ${decls}>\n${rules.join('\n')}\n</ruleset>\n`);
const POLICY_FRAGMENTS = [
  '<rule id="r0"/>',
  '<rule id="r5"><conditions><identity><one id="sip:e@x"/></identity></conditions></rule>',
  '<rule id="r9"/>',
  '<rule id="r6"><actions/><conditions/></rule>',
  '<rule/>',
  '<rule id="not an id"/>',
  '<rule id="r7"><conditions><x:ext><ruleset><rule id="r0"/></ruleset></x:ext></conditions></rule>',
  '<one id="sip:new@x"/>',
  '<one/>',
  '<one id="sip:f@x"><x:a/><x:b/></one>',
  '<many domain="y"/>',
  '<identity><one id="sip:g@x"/></identity>',
  '<identity/>',
  '<sphere value="home"/>',
  '<sphere/>',
  '<validity><until>2027-01-01T00:00:00Z</until><from>2026-01-01T00:00:00Z</from></validity>',
  '<validity><from>2026-13-01T00:00:00Z</from><until>2027-01-01T00:00:00Z</until></validity>',
  '<conditions><sphere value="a"/></conditions>',
  '<actions><pr:sub-handling>confirm</pr:sub-handling></actions>',
  '<pr:sub-handling>polite-block</pr:sub-handling>',
  '<pr:sub-handling>maybe</pr:sub-handling>',
  '<pr:provide-services><pr:all-services/><pr:all-services/></pr:provide-services>',
  '<pr:provide-unknown-attribute name="a" ns="urn:y">true</pr:provide-unknown-attribute>',
  '<x:ext><ruleset><rule id="r1"/></ruleset></x:ext>',
  '<x:ext/>',
  '<foo/>',
];
const POLICY_ATTRIBUTES = ['key', 'key', 'key', 'id', 'domain', 'value', 'bogus', 'x:flag'];
const POLICY_VALUES = [SIBLING, SIBLING, SIBLING, 'r0', 'r1', 'r8', 'sip:h@x', 'not an id', 'work', ''];
const POLICY_KEYS = { rule: 'id', one: 'id', except: 'id', many: 'domain', sphere: 'value' };

// rls-services: service uris unique in the document, <resource-list> a list of the owner on this server.
const OWNER_LIST = 'http://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b@name=%22a%22%5d';
const serviceUri = fc.constantFrom('sip:s0@x', 'sip:s1@x', 'sip:s2@x');
const rlEntry = fc.constantFrom('<rl:entry uri="sip:u0@x"/>', '<rl:entry uri="sip:u1@x"><rl:display-name>One</rl:display-name></rl:entry>', '<rl:external anchor="http://xcap.example.com/x"/>', '<rl:entry-ref ref="resource-lists/users/sip:b@x/index/~~/resource-lists/list%5b1%5d"/>');
const rlsList = fc
  .record({ entries: fc.array(rlEntry, { maxLength: 4 }), nested: fc.option(fc.array(rlEntry, { maxLength: 3 }), { nil: undefined }) })
  .map(({ entries, nested }) => `<list>${entries.join('')}${nested === undefined ? '' : `<rl:list name="n">${nested.join('')}</rl:list>`}</list>`);
const service = fc
  .record({ uri: serviceUri, members: fc.oneof(rlsList, fc.constant(`<resource-list>${OWNER_LIST}</resource-list>`)), packages: fc.boolean() })
  .map((s) => `<service uri="${s.uri}">${s.members}${s.packages ? '<packages><package>presence</package></packages>' : ''}</service>`);
const RLS_FRAGMENTS = [
  `<service uri="sip:s0@x"><resource-list>${OWNER_LIST}</resource-list></service>`,
  '<service uri="sip:s5@x"><list><rl:entry uri="sip:u0@x"/></list></service>',
  '<service uri="sip:s6@x"><list><rl:entry uri="sip:u0@x"/><rl:entry uri="sip:u0@x"/></list></service>',
  '<service uri="sip:s7@x"><packages/><list/></service>',
  '<service><list/></service>',
  `<resource-list>${OWNER_LIST}</resource-list>`,
  '<resource-list>http://xcap.example.com/xcap-root/resource-lists/users/sip:zed@example.com/index/~~/resource-lists/list%5b1%5d</resource-list>',
  '<resource-list>http://other.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b1%5d</resource-list>',
  '<resource-list>http://xcap.example.com/xcap-root/pres-rules/users/sip:alice@example.com/index</resource-list>',
  '<list><rl:entry uri="sip:u1@x"/></list>',
  '<list><rl:list name="a"/><rl:list name="a"/></list>',
  '<rl:entry uri="sip:u0@x"/>',
  '<rl:entry uri="sip:u9@x"/>',
  '<rl:entry/>',
  '<rl:entry-ref ref="/abs"/>',
  '<rl:external anchor="ftp://h/x"/>',
  '<rl:list name="n"><rl:entry uri="sip:u0@x"/><rl:entry-ref ref="pres-rules/x"/></rl:list>',
  '<packages><package>presence</package><package>reg</package></packages>',
  '<package>dialog</package>',
  '<x:ext/>',
];

// pidf-manipulation: tuple ids are xs:ID.
const tuple = fc
  .record({ id: fc.constantFrom('t0', 't1', 't2'), basic: fc.constantFrom('open', 'closed', ''), contact: fc.boolean(), notes: fc.nat(2) })
  .map((t) => `<tuple id="${t.id}"><status>${t.basic === '' ? '' : `<basic>${t.basic}</basic>`}</status>${t.contact ? '<contact priority="0.5">sip:a@x</contact>' : ''}${'<note xml:lang="en">n</note>'.repeat(t.notes)}</tuple>`);
const pidfDocument = fc
  .record({ tuples: fc.array(tuple, { maxLength: 4 }), note: fc.boolean(), hidden: fc.boolean() })
  .map((d) => `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="${PIDF}" xmlns:x="urn:x" entity="pres:a@x">${d.tuples.join('')}${d.note ? '<note>hi</note>' : ''}${d.hidden ? `<x:ext><presence entity="pres:b@x"><tuple id="t9"><status/></tuple></presence></x:ext>` : ''}</presence>\n`);
const PIDF_FRAGMENTS = [
  '<tuple id="t0"><status/></tuple>',
  '<tuple id="t5"><status><basic>open</basic></status></tuple>',
  '<tuple id="t9"><status/></tuple>',
  '<tuple id="t6"/>',
  '<tuple id="t7"><contact>sip:a@x</contact><status/></tuple>',
  '<status><basic>closed</basic></status>',
  '<status><basic>ajar</basic></status>',
  '<basic>open</basic>',
  '<contact priority="2">sip:a@x</contact>',
  '<contact>sip:b@x</contact>',
  '<note xml:lang="en">x</note>',
  '<note xml:lang="not a language">x</note>',
  '<timestamp>2026-12-02T10:00:00Z</timestamp>',
  '<timestamp>yesterday</timestamp>',
  '<x:ext><presence entity="pres:c@x"><tuple id="t1"><status/></tuple></presence></x:ext>',
  '<x:ext/>',
];

// pres-content: the image rules read mime-type, encoding and data.
const PNG = 'iVBORw0KGgo=';
const GIF = 'R0lGODlh';
const presContent = fc
  .record({ mime: fc.constantFrom('image/png', 'image/gif', ''), enc: fc.boolean(), descriptions: fc.nat(2), ext: fc.boolean() })
  .filter((c) => c.mime !== 'image/gif')
  .map(
    (c) =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<content xmlns="${PC}" xmlns:x="urn:x">${c.mime === '' ? '' : `<mime-type>${c.mime}</mime-type>`}${c.enc ? '<encoding>base64</encoding>' : ''}${'<description xml:lang="en">me</description>'.repeat(c.descriptions)}<data>${PNG}</data>${c.ext ? '<x:ext/>' : ''}</content>\n`,
  );
const PC_FRAGMENTS = [
  `<data>${PNG}</data>`,
  `<data>${GIF}</data>`,
  '<data>not base64!</data>',
  '<data>AAAA</data>',
  '<mime-type>image/png</mime-type>',
  '<mime-type>image/gif</mime-type>',
  '<encoding>base64</encoding>',
  '<encoding>hex</encoding>',
  '<description>x</description>',
  '<description xml:lang="en-GB">y</description>',
  '<description xml:lang="?">z</description>',
  '<x:ext/>',
  '<foo/>',
];

// A custom usage: lines with xs:ID ids, speed dials unique by key (xs:unique), an enumeration.
const dir = mkdtempSync(join(tmpdir(), 'edit-custom-'));
const PHONE_XSD = join(dir, 'phone.xsd');
writeFileSync(
  PHONE_XSD,
  `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:p="${PHONE}" targetNamespace="${PHONE}" elementFormDefault="qualified">
     <xs:element name="phone"><xs:complexType><xs:sequence>
       <xs:element name="line" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:sequence>
         <xs:element name="account" type="xs:anyURI"/>
         <xs:element name="codec" minOccurs="0" maxOccurs="unbounded"><xs:simpleType><xs:restriction base="xs:string">
           <xs:enumeration value="opus"/><xs:enumeration value="pcmu"/></xs:restriction></xs:simpleType></xs:element>
       </xs:sequence><xs:attribute name="id" type="xs:ID" use="required"/></xs:complexType></xs:element>
       <xs:element name="dials" minOccurs="0"><xs:complexType><xs:sequence>
         <xs:element name="dial" minOccurs="0" maxOccurs="unbounded"><xs:complexType>
           <xs:attribute name="key" type="xs:NCName" use="required"/><xs:attribute name="uri" type="xs:anyURI"/>
         </xs:complexType></xs:element>
         <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
       </xs:sequence></xs:complexType>
         <xs:unique name="dial-key"><xs:selector xpath="p:dial"/><xs:field xpath="@key"/></xs:unique>
       </xs:element>
     </xs:sequence></xs:complexType></xs:element>
   </xs:schema>`,
);
const phone = createCustomUsage({ auid: 'com.example.phone', namespace: PHONE, mimeType: 'application/vnd.example.phone+xml', xsd: PHONE_XSD, scopes: { global: false, users: true }, documentNames: ['settings'] });
const line = fc.record({ id: fc.constantFrom('l0', 'l1', 'l2'), codecs: fc.array(fc.constantFrom('opus', 'pcmu'), { maxLength: 2 }) }).map((l) => `<line id="${l.id}"><account>sip:a@x</account>${l.codecs.map((c) => `<codec>${c}</codec>`).join('')}</line>`);
const dial = fc.record({ key: fc.constantFrom('k0', 'k1', 'k2'), uri: fc.boolean() }).map((d) => `<dial key="${d.key}"${d.uri ? ' uri="sip:d@x"' : ''}/>`);
const phoneDocument = fc
  .record({ lines: fc.array(line, { maxLength: 3 }), dials: fc.option(fc.array(dial, { maxLength: 4 }), { nil: undefined }) })
  .map((p) => `<?xml version="1.0" encoding="UTF-8"?>\n<phone xmlns="${PHONE}" xmlns:x="urn:x">${p.lines.join('')}${p.dials === undefined ? '' : `<dials>${p.dials.join('')}</dials>`}</phone>\n`);
const PHONE_FRAGMENTS = [
  '<line id="l0"><account>sip:b@x</account></line>',
  '<line id="l7"><account>sip:b@x</account><codec>opus</codec></line>',
  '<line id="l8"/>',
  '<account>sip:c@x</account>',
  '<codec>opus</codec>',
  '<codec>gsm</codec>',
  '<dial key="k0"/>',
  '<dial key="k5"/>',
  '<codec>pcmu</codec>',
  '<dial key="k9" uri="sip:e@x"/>',
  '<dial key="not a name"/>',
  '<dials><dial key="k1"/><dial key="k1"/></dials>',
  '<x:ext/>',
];

const CASES: Record<string, UsageCase> = {
  'pres-rules': {
    usage: presRules,
    key: { xui: ALICE, path: 'index' },
    xsd: ['pres-rules/pres-rules.xsd', 'common-policy/common-policy.xsd'],
    decls: `xmlns="${CP}" xmlns:pr="${PR}" xmlns:x="urn:x"`,
    document: policyDocument(`xmlns="${CP}" xmlns:pr="${PR}" xmlns:x="urn:x"`, '<x:cond/>'),
    fragments: POLICY_FRAGMENTS,
    attributes: POLICY_ATTRIBUTES,
    values: POLICY_VALUES,
    keys: POLICY_KEYS,
  },
  'org.openmobilealliance.pres-rules': {
    usage: omaPresRules,
    key: { xui: ALICE, path: 'pres-rules' },
    xsd: ['oma-pres-rules/oma-common-policy.xsd', 'pres-rules/pres-rules.xsd', 'common-policy/common-policy.xsd'],
    decls: `xmlns="${CP}" xmlns:pr="${PR}" xmlns:ocp="${OCP}" xmlns:x="urn:x"`,
    document: policyDocument(`xmlns="${CP}" xmlns:pr="${PR}" xmlns:ocp="${OCP}" xmlns:x="urn:x"`, '<ocp:external-list><ocp:entry anc="http://xcap.example.com/l"/></ocp:external-list>'),
    fragments: [...POLICY_FRAGMENTS, '<ocp:anonymous-request/>', '<ocp:other-identity/>', '<ocp:external-list><ocp:entry/></ocp:external-list>', '<ocp:external-list><ocp:entry anc="http://x/y" x:z="1"/></ocp:external-list>'],
    attributes: [...POLICY_ATTRIBUTES, 'anc'],
    values: [...POLICY_VALUES, 'http://xcap.example.com/m'],
    keys: { ...POLICY_KEYS, entry: 'anc' },
  },
  'rls-services': {
    usage: rlsServices,
    key: { xui: ALICE, path: 'index' },
    xsd: ['rls-services/rls-services.xsd', 'resource-lists/resource-lists.xsd', 'common/xml.xsd'],
    decls: `xmlns="${RLS}" xmlns:rl="${RL}" xmlns:x="urn:x"`,
    document: fc.array(service, { maxLength: 4 }).map((s) => `<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="${RLS}" xmlns:rl="${RL}" xmlns:x="urn:x">\n${s.join('\n')}\n</rls-services>\n`),
    fragments: RLS_FRAGMENTS,
    attributes: ['key', 'key', 'key', 'key', 'key', 'uri', 'name', 'anchor', 'ref', 'bogus', 'x:flag'],
    values: [SIBLING, SIBLING, SIBLING, SIBLING, SIBLING, 'sip:s1@x', 'sip:s9@x', 'n', 'http://xcap.example.com/y', 'ftp://h/x', '/abs', ''],
    keys: { service: 'uri', entry: 'uri', list: 'name', external: 'anchor', 'entry-ref': 'ref' },
    // A <resource-list> naming this server by a root the request did not reach it by is refused.
    roots: [['http://xcap.example.com/xcap-root'], ['http://xcap.example.com/xcap-root'], ['http://xcap.example.com/xcap-root'], ['http://xcap.example.net/xcap-root']],
  },
  'pidf-manipulation': {
    usage: pidfManipulation,
    key: { xui: ALICE, path: 'index' },
    xsd: ['pidf-manipulation/pidf.xsd', 'common/xml.xsd'],
    decls: `xmlns="${PIDF}" xmlns:x="urn:x"`,
    document: pidfDocument,
    fragments: PIDF_FRAGMENTS,
    attributes: ['key', 'key', 'id', 'entity', 'priority', 'xml:lang', 'bogus', 'x:flag'],
    values: [SIBLING, SIBLING, 't1', 't8', 'pres:z@x', '0.3', '7', 'en', 'not a language', 'not an id', ''],
    keys: { tuple: 'id' },
  },
  'org.openmobilealliance.pres-content': {
    usage: createPresContentUsage(),
    key: { xui: ALICE, path: 'oma_status-icon/index' },
    xsd: ['pres-content/pres-content.xsd', 'common/xml.xsd'],
    decls: `xmlns="${PC}" xmlns:x="urn:x"`,
    document: presContent,
    fragments: PC_FRAGMENTS,
    attributes: ['xml:lang', 'x:flag', 'bogus'],
    values: ['en', 'fr', 'not a language', ''],
    keys: {},
  },
  'com.example.phone (custom)': {
    usage: phone,
    key: { xui: ALICE, path: 'settings' },
    xsd: [PHONE_XSD],
    decls: `xmlns="${PHONE}" xmlns:x="urn:x"`,
    document: phoneDocument,
    fragments: PHONE_FRAGMENTS,
    attributes: ['key', 'key', 'id', 'uri', 'bogus', 'x:flag'],
    values: [SIBLING, SIBLING, 'l1', 'l9', 'k1', 'k9', 'not a name', 'sip:f@x', ''],
    keys: { line: 'id', dial: 'key' },
  },
};

/** An element PUT: a fragment replaces an element, or goes in among some element's children. */
const elementEdit = fc.record({ replace: fc.boolean(), at: fc.nat(), pos: fc.nat(), fragment: fc.nat(), ctx: fc.nat() });
type ElementEdit = typeof elementEdit extends fc.Arbitrary<infer E> ? E : never;

/** An attribute written or removed (RFC 4825 §7.7, §7.8) or an element deleted (§7.5). */
const shallowEdit = fc.record({ kind: fc.constantFrom('set', 'set', 'remove', 'delete'), at: fc.nat(), attr: fc.nat(), value: fc.nat(), ctx: fc.nat() });
type ShallowEdit = typeof shallowEdit extends fc.Arbitrary<infer E> ? E : never;

// A fixed seed: the runs also count what they covered (refusals, repeated keys), which an
// unlucky random draw fell short of once in CI-like runs.
const SEED = 4825;

function pick<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

function applyElementEdit(c: UsageCase, dom: Document, e: ElementEdit): Element | undefined {
  const holder = parseDocument(`<w ${c.decls}>${pick(c.fragments, e.fragment)}</w>`);
  const el = dom.importNode(holder.documentElement!.firstChild as Element, true) as Element;
  const root = dom.documentElement!;
  const all = Array.from(dom.getElementsByTagNameNS('*', '*'));
  if (e.replace) {
    const target = pick(all.filter((x) => x !== root), e.at);
    if (target === undefined) return undefined;
    target.parentNode!.replaceChild(el, target);
  } else {
    const parent = pick(all, e.at) as Element;
    parent.insertBefore(el, parent.childNodes.item(e.pos % (parent.childNodes.length + 1)));
  }
  return el;
}

/** The edited element (the attribute's, or the deleted one's parent), or undefined when the edit cannot apply. */
function applyShallowEdit(c: UsageCase, dom: Document, e: ShallowEdit): Element | undefined {
  const all = Array.from(dom.getElementsByTagNameNS('*', '*'));
  const named = pick(c.attributes, e.attr) as string;
  const some = e.kind === 'set' && named === 'key' ? all.filter((x) => c.keys[x.localName ?? ''] !== undefined) : all;
  const el = pick(some, e.at);
  if (el === undefined) return undefined;
  if (e.kind === 'delete') {
    if (el === dom.documentElement) return undefined;
    const parent = el.parentNode as Element;
    parent.removeChild(el);
    return parent;
  }
  const attr = named === 'key' ? (c.keys[el.localName ?? ''] ?? 'id') : named;
  const colon = attr.indexOf(':');
  const ns = colon < 0 ? null : (NS_OF[attr.slice(0, colon)] as string);
  const local = colon < 0 ? attr : attr.slice(colon + 1);
  if (e.kind === 'remove') {
    if (!el.hasAttributeNS(ns, local)) return undefined;
    el.removeAttributeNS(ns, local);
    return el;
  }
  let value = pick(c.values, e.value) as string;
  if (value === SIBLING) {
    const siblings = childElements(el.parentNode as Element, el.namespaceURI ?? '', el.localName ?? '').filter((x) => x !== el && x.hasAttributeNS(ns, local));
    const sibling = pick(siblings, e.at);
    if (sibling === undefined) return undefined;
    value = sibling.getAttributeNS(ns, local) as string;
  }
  el.setAttributeNS(ns, attr, value);
  return el;
}

let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

describe.each(Object.entries(CASES))('%s: an edit judged from the part it changed gets the whole-document verdict', (auid, c) => {
  const [main, ...imports] = c.xsd.map((p) => (p.startsWith('/') ? p : schemaFile(p))) as [string, ...string[]];
  const { fast, libxml2 } = compileValidators(main, { imports });
  const contexts = (): UsageContext[] => (c.roots ?? [undefined]).map((roots) => context(store, { auid: c.usage.auid, ...c.key }, [], roots));

  /** Runs `edits` in a row on a valid `base`; counts the edits judged alone and those refused. */
  const property = <E extends { ctx: number }>(
    edits: fc.Arbitrary<E[]>,
    apply: (dom: Document, e: E) => Element | undefined,
    shallow: boolean,
    removal: (e: E) => boolean,
    seen: { alone: number; refused: number; ids: number },
  ) =>
    fc.asyncProperty(c.document, edits, async (base, list) => {
      const all = contexts();
      fc.pre((await outcome(() => c.usage.validate({ text: base, dom: () => parseDocument(base) }, all[0]!))) === 'valid');
      let dom = parseDocument(base);
      for (const e of list) {
        const edited = apply(dom, e);
        if (edited === undefined) return;
        const text = serialize(dom);
        const ctx = pick(all, e.ctx) as UsageContext;
        const whole = await outcome(() => c.usage.validate({ text, dom: () => parseDocument(text) }, ctx));
        const candidate: CandidateDocument = { text, dom: () => dom, parsed: dom, edited, shallow, removal: removal(e) };
        expect(await outcome(() => c.usage.validate(candidate, ctx)), text).toBe(whole);
        if (fast?.checkEdit(dom, edited, text.length, shallow, removal(e)) === 'accept') {
          seen.alone++;
          expect(() => libxml2.validate(text), text).not.toThrow();
        }
        if (whole !== 'valid') {
          seen.refused++;
          if (/UniquenessFailure|ID|repeated/.test(whole)) seen.ids++;
          return;
        }
        dom = parseDocument(text);
      }
    });

  it(`${auid}: element PUTs`, async () => {
    expect(fast).not.toBeNull();
    const seen = { alone: 0, refused: 0, ids: 0 };
    await fc.assert(property(fc.array(elementEdit, { minLength: 1, maxLength: 3 }), (dom, e) => applyElementEdit(c, dom, e), false, () => false, seen), { numRuns: 600, seed: SEED });
    // Neither side of the property is vacuous.
    expect(seen.alone, JSON.stringify(seen)).toBeGreaterThan(20);
    expect(seen.refused, JSON.stringify(seen)).toBeGreaterThan(60);
  });

  it(`${auid}: attribute PUTs and DELETEs`, async () => {
    const seen = { alone: 0, refused: 0, ids: 0 };
    await fc.assert(property(fc.array(shallowEdit, { minLength: 1, maxLength: 4 }), (dom, e) => applyShallowEdit(c, dom, e), true, (e) => e.kind !== 'set', seen), { numRuns: 600, seed: SEED });
    expect(seen.alone, JSON.stringify(seen)).toBeGreaterThan(60);
    expect(seen.refused, JSON.stringify(seen)).toBeGreaterThan(30);
    // Repeated keys are what a judgement from one element can miss: they must occur.
    if (Object.keys(c.keys).length > 0) expect(seen.ids, JSON.stringify(seen)).toBeGreaterThan(5);
  });
});

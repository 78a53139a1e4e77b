/**
 * In-process cost of validating one edit of a document the server validated before (issue 10
 * item 4): the usage judging only what the edit touched, as the service does on a DOM it
 * validated (CandidateDocument.edited, .shallow), against the whole edited DOM (what every
 * edit paid before). Edits: an element PUT, an attribute PUT, a DELETE. Documents:
 * resource-lists with 100 entries in one list, 10,000 in one list (the siblings' keys are
 * still all read), 100 lists of 100 entries; then one large document per other usage.
 * Run: npx node bench/edit-validation.ts
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Element } from '@xmldom/xmldom';
import { createCustomUsage } from '../src/appusage/custom.ts';
import { omaPresRules } from '../src/appusage/oma-pres-rules/index.ts';
import { pidfManipulation } from '../src/appusage/pidf-manipulation/index.ts';
import { createPresContentUsage } from '../src/appusage/pres-content/index.ts';
import { presRules } from '../src/appusage/pres-rules/index.ts';
import { resourceLists } from '../src/appusage/resource-lists/index.ts';
import { rlsServices } from '../src/appusage/rls-services/index.ts';
import type { AppUsage, CandidateDocument, UsageContext } from '../src/appusage/types.ts';
import { LocalRoots } from '../src/xcap/local-roots.ts';
import { deleteNode, putAttribute, putElement, type EditableDocument } from '../src/xcap/node-ops.ts';
import { parseSelector } from '../src/xcap/selector/parse.ts';
import { parseDocument } from '../src/xcap/xml.ts';
import { RL_CONTEXT, RL_NS } from './fixtures.ts';

/** Mean µs per call of `fn`, over calls filling about 300 ms, after a warm-up. */
function measure(fn: () => void | Promise<void>): number {
  const t0 = performance.now();
  void fn();
  const once = Math.max(performance.now() - t0, 0.001);
  const n = Math.max(20, Math.min(20_000, Math.round(300 / once)));
  for (let i = 0; i < Math.min(n, 200); i++) void fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) void fn();
  return ((performance.now() - start) * 1000) / n;
}

type Edit = (doc: EditableDocument) => { element: Element; shallow: boolean; removal?: boolean };

/** Selector steps of one usage: its default namespace and the prefixes its selectors use. */
interface Steps {
  readonly ns: string;
  readonly prefixes: Record<string, string>;
}

function edits(steps: Steps, put: [string, string], attribute: [string, string], remove: string): Record<string, Edit> {
  const sel = (s: string) => parseSelector(s, steps.prefixes, steps.ns);
  return {
    'element PUT': (d) => ({ element: putElement(d, sel(put[0]), put[1], '/doc').element, shallow: false }),
    'attribute PUT': (d) => ({ element: putAttribute(d, sel(attribute[0]), attribute[1], '/doc').element, shallow: true }),
    DELETE: (d) => ({ element: deleteNode(d, sel(remove)), shallow: true, removal: true }),
  };
}

/** One line per edit of `text`: whole-document and edited-part validation by `usage`. */
function run(usage: AppUsage, ctx: UsageContext, label: string, text: string, cases: Record<string, Edit>): void {
  for (const [name, edit] of Object.entries(cases)) {
    const doc: EditableDocument = { text, dom: parseDocument(text) };
    const { element, shallow, removal } = edit(doc);
    const whole: CandidateDocument = { text: doc.text, dom: () => doc.dom, parsed: doc.dom };
    const judged: CandidateDocument = { ...whole, edited: element, shallow, removal: removal === true };
    const w = measure(() => usage.validate(whole, ctx));
    const e = measure(() => usage.validate(judged, ctx));
    console.log(label.padEnd(34), name.padEnd(14), w.toFixed(1).padStart(13), e.toFixed(1).padStart(11), `${(w / e).toFixed(1)}x`.padStart(7));
  }
}

function contextOf(usage: AppUsage, path = 'index'): UsageContext {
  return { ...RL_CONTEXT, key: { auid: usage.auid, xui: 'sip:bench@example.com', path }, roots: new LocalRoots(['http://xcap.example.com/xcap-root']) };
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

console.log('document'.padEnd(34), 'edit'.padEnd(14), 'whole DOM µs'.padStart(13), 'edited µs'.padStart(11), 'gain'.padStart(7));

// resource-lists: `lists` lists named l0, l1, ... of `entries` entries each.
for (const [lists, entries] of [
  [1, 100],
  [1, 10_000],
  [100, 100],
] as const) {
  let text = `${XML_DECL}<resource-lists xmlns="${RL_NS}">`;
  for (let l = 0; l < lists; l++) {
    text += `<list name="l${l}">`;
    for (let i = 0; i < entries; i++) text += `<entry uri="sip:user${i}@example.com"><display-name>User ${i}</display-name></entry>`;
    text += '</list>';
  }
  text += '</resource-lists>\n';
  const list = `resource-lists/list[@name="l${Math.floor(lists / 2)}"]`;
  const half = Math.floor(entries / 2);
  const entry = `${list}/entry[@uri="sip:user${half}@example.com"]`;
  run(resourceLists, RL_CONTEXT, `resource-lists ${lists} x ${entries} entries`, text, edits({ ns: RL_NS, prefixes: {} }, [entry, `<entry uri="sip:user${half}@example.com"><display-name>Half</display-name></entry>`], [`${list}/entry[${half + 1}]/@uri`, 'sip:new@example.com'], entry));
}

// pres-rules and OMA pres-rules: 200 rules, one of them allowing 5,000 identities (a buddy list's whitelist).
const CP = 'urn:ietf:params:xml:ns:common-policy';
const PR = 'urn:ietf:params:xml:ns:pres-rules';
function ruleset(extra: string): string {
  let text = `${XML_DECL}<cp:ruleset xmlns:cp="${CP}" xmlns:pr="${PR}"${extra}><cp:rule id="whitelist"><cp:conditions><cp:identity>`;
  for (let i = 0; i < 5000; i++) text += `<cp:one id="sip:user${i}@example.com"/>`;
  text += '</cp:identity></cp:conditions><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule>';
  for (let r = 0; r < 200; r++) {
    text += `<cp:rule id="r${r}"><cp:conditions><cp:identity><cp:one id="sip:other${r}@example.com"/></cp:identity><cp:sphere value="work"/></cp:conditions>`;
    text += '<cp:actions><pr:sub-handling>block</pr:sub-handling></cp:actions><cp:transformations><pr:provide-services><pr:all-services/></pr:provide-services></cp:transformations></cp:rule>';
  }
  return `${text}</cp:ruleset>\n`;
}
const identity = 'cp:ruleset/cp:rule[@id="whitelist"]/cp:conditions/cp:identity';
const policyEdits = (ns: string) =>
  edits({ ns, prefixes: { cp: CP, pr: PR } }, [`${identity}/cp:one[@id="sip:new@example.com"]`, `<cp:one xmlns:cp="${CP}" id="sip:new@example.com"/>`], [`${identity}/cp:one[2500]/@id`, 'sip:renamed@example.com'], `${identity}/cp:one[@id="sip:user2500@example.com"]`);
run(presRules, contextOf(presRules), 'pres-rules 200 rules, 5,000 ids', ruleset(''), policyEdits(PR));
// A rule's id is an xs:ID, unique across the document: a rule PUT or its id written is judged whole (its DELETE is not).
run(presRules, contextOf(presRules), 'pres-rules, a rule edited', ruleset(''), edits({ ns: PR, prefixes: { cp: CP, pr: PR } }, ['cp:ruleset/cp:rule[@id="r9999"]', `<cp:rule xmlns:cp="${CP}" id="r9999"/>`], ['cp:ruleset/cp:rule[101]/@id', 'r9999'], 'cp:ruleset/cp:rule[@id="r100"]'));
const OCP = 'urn:oma:xml:xdm:common-policy';
run(omaPresRules, contextOf(omaPresRules, 'pres-rules'), 'oma pres-rules 200 rules, 5,000 ids', ruleset(` xmlns:ocp="${OCP}"`), policyEdits(CP));

// rls-services: 1,000 services of 20 inline entries each.
const RLS = 'urn:ietf:params:xml:ns:rls-services';
{
  let text = `${XML_DECL}<rls-services xmlns="${RLS}" xmlns:rl="${RL_NS}">`;
  for (let s = 0; s < 1000; s++) {
    text += `<service uri="sip:service${s}@example.com"><list>`;
    for (let i = 0; i < 20; i++) text += `<rl:entry uri="sip:user${i}@example.com"><rl:display-name>User ${i}</rl:display-name></rl:entry>`;
    text += '</list><packages><package>presence</package></packages></service>';
  }
  text += '</rls-services>\n';
  const service = 'rls-services/service[@uri="sip:service500@example.com"]';
  run(rlsServices, contextOf(rlsServices), 'rls-services 1,000 x 20 entries', text, edits({ ns: RLS, prefixes: { rl: RL_NS } }, [`${service}/list/rl:entry[@uri="sip:new@example.com"]`, `<rl:entry xmlns:rl="${RL_NS}" uri="sip:new@example.com"/>`], ['rls-services/service[501]/@uri', 'sip:renamed@example.com'], `${service}/list/rl:entry[@uri="sip:user10@example.com"]`));
}

// pidf-manipulation: 2,000 tuples.
const PIDF = 'urn:ietf:params:xml:ns:pidf';
{
  let text = `${XML_DECL}<presence xmlns="${PIDF}" entity="pres:bench@example.com">`;
  for (let t = 0; t < 2000; t++) text += `<tuple id="t${t}"><status><basic>open</basic></status><contact priority="0.8">sip:bench@192.0.2.${t % 250}</contact><note xml:lang="en">Device ${t}</note></tuple>`;
  text += '</presence>\n';
  run(pidfManipulation, contextOf(pidfManipulation), 'pidf 2,000 tuples', text, edits({ ns: PIDF, prefixes: {} }, ['presence/tuple[@id="t1000"]/status', '<status><basic>closed</basic></status>'], ['presence/tuple[@id="t1000"]/contact/@priority', '0.5'], 'presence/tuple[@id="t1000"]/note'));
}

// pres-content: a 200 KB image and 50 descriptions (the image rules are read only when the edit is theirs).
const PC = 'urn:oma:xml:prs:pres-content';
{
  const data = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(150_000, 7)]).toString('base64');
  let text = `${XML_DECL}<content xmlns="${PC}"><mime-type>image/png</mime-type><encoding>base64</encoding>`;
  for (let d = 0; d < 50; d++) text += `<description xml:lang="x-d${d}">Picture ${d}</description>`;
  text += `<data>${data}</data></content>\n`;
  const usage = createPresContentUsage();
  run(usage, contextOf(usage, 'oma_status-icon/index'), 'pres-content 200 KB, 50 descriptions', text, edits({ ns: PC, prefixes: {} }, ['content/description[25]', '<description xml:lang="fr">Photo</description>'], ['content/description[25]/@xml:lang', 'de'], 'content/description[@xml:lang="x-d30"]'));
}

// A custom usage: 5,000 speed dials unique by key (xs:unique).
const PHONE = 'urn:example:phone';
{
  const xsd = join(mkdtempSync(join(tmpdir(), 'bench-phone-')), 'phone.xsd');
  writeFileSync(
    xsd,
    `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:p="${PHONE}" targetNamespace="${PHONE}" elementFormDefault="qualified">
       <xs:element name="phone"><xs:complexType><xs:sequence><xs:element name="dials"><xs:complexType><xs:sequence>
         <xs:element name="dial" minOccurs="0" maxOccurs="unbounded"><xs:complexType>
           <xs:attribute name="key" type="xs:NCName" use="required"/><xs:attribute name="uri" type="xs:anyURI"/>
         </xs:complexType></xs:element>
       </xs:sequence></xs:complexType><xs:unique name="dial-key"><xs:selector xpath="p:dial"/><xs:field xpath="@key"/></xs:unique></xs:element>
       </xs:sequence></xs:complexType></xs:element>
     </xs:schema>`,
  );
  const usage = createCustomUsage({ auid: 'com.example.phone', namespace: PHONE, mimeType: 'application/vnd.example.phone+xml', xsd, scopes: { global: false, users: true } });
  let text = `${XML_DECL}<phone xmlns="${PHONE}"><dials>`;
  for (let d = 0; d < 5000; d++) text += `<dial key="k${d}" uri="sip:user${d}@example.com"/>`;
  text += '</dials></phone>\n';
  run(usage, contextOf(usage), 'custom 5,000 dials (xs:unique)', text, edits({ ns: PHONE, prefixes: {} }, ['phone/dials/dial[@key="k2500"]', '<dial key="k2500" uri="sip:new@example.com"/>'], ['phone/dials/dial[2500]/@uri', 'sip:renamed@example.com'], 'phone/dials/dial[@key="k2500"]'));
}

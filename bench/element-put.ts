/**
 * In-process cost of the parts of an element PUT into a 100-entry resource-lists document
 * (issue 3 item 10): selector parse, putElement on a cached DOM (which splices the body into
 * the stored text), usage validation (from the text, from the edited DOM, and from the edited
 * element alone as the service does on a DOM it validated: CandidateDocument.edited), and for comparison a whole-document serialization (only whole-document PUTs with
 * managed lists still pay it) and the full-text parse a process pays when another process wrote last.
 * Run: npx node bench/element-put.ts
 */
import { performance } from 'node:perf_hooks';
import { resourceLists } from '../src/appusage/resource-lists/index.ts';
import { putElement } from '../src/xcap/node-ops.ts';
import { parseSelector } from '../src/xcap/selector/parse.ts';
import { parseDocument, serialize } from '../src/xcap/xml.ts';
import { RL_CONTEXT, RL_NS, resourceLists as resourceListsText } from './fixtures.ts';

const text = resourceListsText(100);
const selText = 'resource-lists/list[@name="friends"]/entry[@uri="sip:user50@example.com"]';
const body = '<entry uri="sip:user50@example.com"><display-name>Fifty</display-name></entry>';
const ctx = RL_CONTEXT;

/** Mean µs per call of `fn` over `n` calls, after a warm-up. */
function measure(fn: () => void, n = 5000): number {
  for (let i = 0; i < 500; i++) fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - start) * 1000) / n;
}

const doc = parseDocument(text);
const editable = { text, dom: doc };
const sel = parseSelector(selText, {}, RL_NS);
const out = serialize(doc);
const rows: Array<[string, number]> = [
  ['parseSelector', measure(() => parseSelector(selText, {}, RL_NS))],
  ['putElement (replace)', measure(() => putElement(editable, sel, body, '/doc'))],
  ['serialize document', measure(() => serialize(doc))],
  ['usage.validate (text)', measure(() => resourceLists.validate({ text: out, dom: () => doc }, ctx))],
  // What the service hands over after an edit: the DOM is there, validated without its text.
  ['usage.validate (DOM)', measure(() => resourceLists.validate({ text: out, dom: () => doc, parsed: doc }, ctx))],
  // What the service hands over when the document before the edit was valid: only the new element is judged.
  [
    'usage.validate (edited)',
    (() => {
      const edited = putElement(editable, sel, body, '/doc').element;
      return measure(() => resourceLists.validate({ text: out, dom: () => doc, parsed: doc, edited }, ctx));
    })(),
  ],
  ['parseDocument (cache miss)', measure(() => parseDocument(text), 2000)],
];
// The service's path: selector, edit, validation of the edited element (the other rows are for comparison).
const total = [0, 1, 5].reduce((s, i) => s + (rows[i] as [string, number])[1], 0);
for (const [name, us] of rows) console.log(`${name.padEnd(28)} ${us.toFixed(1).padStart(7)} µs`);
console.log(`${'cached-DOM element PUT work'.padEnd(28)} ${total.toFixed(1).padStart(7)} µs (${Math.round(1e6 / total)}/s)`);

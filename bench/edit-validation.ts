/**
 * In-process cost of validating one edit of a resource-lists document the server validated
 * before (issue 10 item 4): the usage judging only what the edit touched, as the service
 * does on a DOM it validated (CandidateDocument.edited, .shallow), against the whole edited
 * DOM (what every edit paid before). Edits: an element PUT replacing an entry, an attribute
 * PUT of an entry's uri, the DELETE of an entry. Documents: 100 entries in one list; 10,000
 * in one list (the siblings' keys are still all read); 100 lists of 100 entries.
 * Run: npx node bench/edit-validation.ts
 */
import { performance } from 'node:perf_hooks';
import type { Element } from '@xmldom/xmldom';
import { resourceLists } from '../src/appusage/resource-lists/index.ts';
import type { CandidateDocument } from '../src/appusage/types.ts';
import { deleteNode, putAttribute, putElement, type EditableDocument } from '../src/xcap/node-ops.ts';
import { parseSelector } from '../src/xcap/selector/parse.ts';
import { parseDocument } from '../src/xcap/xml.ts';
import { RL_CONTEXT, RL_NS } from './fixtures.ts';

const ctx = RL_CONTEXT;

/** `lists` lists named l0, l1, ... of `entries` entries each. */
function document(lists: number, entries: number): string {
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}">`;
  for (let l = 0; l < lists; l++) {
    out += `<list name="l${l}">`;
    for (let i = 0; i < entries; i++) out += `<entry uri="sip:user${i}@example.com"><display-name>User ${i}</display-name></entry>`;
    out += '</list>';
  }
  return out + '</resource-lists>\n';
}

/** Mean µs per call of `fn`, over calls filling about 300 ms, after a warm-up. */
function measure(fn: () => void): number {
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 0.001);
  const n = Math.max(20, Math.min(20_000, Math.round(300 / once)));
  for (let i = 0; i < Math.min(n, 200); i++) fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - start) * 1000) / n;
}

type Edit = (doc: EditableDocument) => { element: Element; shallow: boolean };
function edits(lists: number, entries: number): Record<string, Edit> {
  const list = `resource-lists/list[@name="l${Math.floor(lists / 2)}"]`;
  const half = Math.floor(entries / 2);
  const entry = `${list}/entry[@uri="sip:user${half}@example.com"]`;
  return {
    'element PUT': (d) => ({ element: putElement(d, parseSelector(entry, {}, RL_NS), `<entry uri="sip:user${half}@example.com"><display-name>Half</display-name></entry>`, '/doc').element, shallow: false }),
    'attribute PUT': (d) => ({ element: putAttribute(d, parseSelector(`${list}/entry[${half + 1}]/@uri`, {}, RL_NS), 'sip:new@example.com', '/doc').element, shallow: true }),
    DELETE: (d) => ({ element: deleteNode(d, parseSelector(entry, {}, RL_NS)), shallow: true }),
  };
}

console.log('document'.padEnd(24), 'edit'.padEnd(14), 'whole DOM µs'.padStart(13), 'edited µs'.padStart(11), 'gain'.padStart(7));
for (const [lists, entries] of [
  [1, 100],
  [1, 10_000],
  [100, 100],
] as const) {
  const text = document(lists, entries);
  for (const [name, edit] of Object.entries(edits(lists, entries))) {
    const doc: EditableDocument = { text, dom: parseDocument(text) };
    const { element, shallow } = edit(doc);
    const whole: CandidateDocument = { text: doc.text, dom: () => doc.dom, parsed: doc.dom };
    const judged: CandidateDocument = { ...whole, edited: element, shallow };
    const w = measure(() => void resourceLists.validate(whole, ctx));
    const e = measure(() => void resourceLists.validate(judged, ctx));
    console.log(`${lists} x ${entries} entries`.padEnd(24), name.padEnd(14), w.toFixed(1).padStart(13), e.toFixed(1).padStart(11), `${(w / e).toFixed(1)}x`.padStart(7));
  }
}

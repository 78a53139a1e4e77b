/**
 * Generated well-formed documents for property tests of the RFC 4825 core: elements with
 * prefixes, declarations and attributes, text with the characters that need escaping,
 * CDATA, comments and PIs, optionally an XML declaration. The text is written with the
 * variations real documents have (raw tabs or references in values).
 */
import fc from 'fast-check';


const NAMESPACES = ['urn:a', 'urn:b', 'http://example.com/x?y=1&z="2"'];
const ncName = fc.constantFrom('a', 'b', 'entry', 'list', 'x-y', 'z.1');
const prefix = fc.constantFrom('p', 'q', 'r');
export const charData = fc
  .string({ unit: fc.constantFrom('a', ' ', '<', '>', '&', '"', "'", '\t', '\n', ']', 'é', '\u{1F600}', ';', '#'), maxLength: 12 });

function escText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
function escAttr(s: string): string {
  // Raw tabs/newlines in some values (normalized by the parser), references in others.
  return escText(s).replace(/"/g, '&quot;').replace(/\t/g, (c) => (s.length % 2 === 0 ? c : '&#9;'));
}

interface ElementModel {
  kind: 'element';
  prefix: string | null;
  local: string;
  decls: Array<{ prefix: string | null; ns: string }>;
  attrs: Array<{ prefix: string | null; local: string; value: string }>;
  children: NodeModel[];
}
type NodeModel =
  | ElementModel
  | { kind: 'text'; value: string }
  | { kind: 'cdata'; value: string }
  | { kind: 'comment'; value: string }
  | { kind: 'pi'; target: string; data: string };

const leaf: fc.Arbitrary<NodeModel> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), value: charData }),
  fc.record({ kind: fc.constant('cdata' as const), value: charData.map((s) => s.replace(/]]>/g, '')) }),
  fc.record({ kind: fc.constant('comment' as const), value: charData.map((s) => s.replace(/-/g, '')) }),
  fc.record({ kind: fc.constant('pi' as const), target: fc.constantFrom('pi', 'go'), data: charData.map((s) => s.replace(/\?>/g, '').trim()) }),
);

const { element } = fc.letrec<{ element: ElementModel; node: NodeModel }>((tie) => ({
  element: fc.record({
    kind: fc.constant('element' as const),
    prefix: fc.option(prefix, { nil: null }),
    local: ncName,
    decls: fc.array(fc.record({ prefix: fc.option(prefix, { nil: null }), ns: fc.constantFrom(...NAMESPACES, '') }), { maxLength: 2 }),
    attrs: fc.array(fc.record({ prefix: fc.option(fc.constantFrom('p', 'q', 'xml'), { nil: null }), local: ncName, value: charData }), { maxLength: 3 }),
    children: fc.array(tie('node'), { maxLength: 4 }),
  }),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('element')),
}));

/**
 * Writes the model as text that parses: declarations for every prefix used are made on
 * the element (undeclaring a prefix is not XML 1.0), duplicates are dropped.
 */
function write(m: NodeModel): string {
  switch (m.kind) {
    case 'text':
      return escText(m.value);
    case 'cdata':
      return `<![CDATA[${m.value}]]>`;
    case 'comment':
      return `<!--${m.value}-->`;
    case 'pi':
      return `<?${m.target}${m.data === '' ? '' : ` ${m.data}`}?>`;
    case 'element': {
      const qn = m.prefix === null ? m.local : `${m.prefix}:${m.local}`;
      const decls = new Map<string, string>();
      for (const d of m.decls) if (d.ns !== '' || d.prefix === null) decls.set(d.prefix ?? '', d.ns);
      if (m.prefix !== null && !decls.has(m.prefix)) decls.set(m.prefix, NAMESPACES[0]!);
      const attrs = new Map<string, string>();
      for (const a of m.attrs) {
        if (a.prefix !== null && a.prefix !== 'xml' && !decls.has(a.prefix)) decls.set(a.prefix, NAMESPACES[1]!);
        attrs.set(a.prefix === null ? a.local : `${a.prefix}:${a.local}`, a.value);
      }
      // Two attributes with one expanded name (p:x, q:x with p, q bound alike) are not well-formed.
      const expanded = new Set<string>();
      let s = `<${qn}`;
      for (const [p, ns] of decls) s += p === '' ? ` xmlns="${escAttr(ns)}"` : ` xmlns:${p}="${escAttr(ns)}"`;
      for (const [name, value] of attrs) {
        const colon = name.indexOf(':');
        const ns = colon === -1 ? '' : name.startsWith('xml:') ? 'xml' : decls.get(name.slice(0, colon))!;
        const key = `${ns} ${name.slice(colon + 1)}`;
        if (expanded.has(key)) continue;
        expanded.add(key);
        s += ` ${name}="${escAttr(value)}"`;
      }
      if (m.children.length === 0) return `${s}/>`;
      return `${s}>${m.children.map(write).join('')}</${qn}>`;
    }
  }
}

export const documentText = fc
  .tuple(fc.boolean(), fc.array(leaf.filter((l) => l.kind === 'comment' || l.kind === 'pi'), { maxLength: 2 }), element)
  .map(([decl, before, root]) => `${decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${before.map(write).join('')}${write(root)}`);

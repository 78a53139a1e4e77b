/**
 * Node selector parser (RFC 4825 §6.3, namespace bindings §6.4).
 *
 *   node-selector      = element-selector ["/" terminal-selector]
 *   element-selector   = step *( "/" step )
 *   step               = NameorAny [ "[" position "]" ] [ "[" "@" att-name "=" AttValue "]" ]
 *   terminal-selector  = "@" att-name / "namespace::*"
 *
 * Position comes before the attribute test when both are present; the grammar has no
 * other order, so `entry[@uri="a"][1]` is refused. A position is 1*DIGIT: `[0]` and
 * positions past the end (however many digits) are valid and select nothing. Unprefixed element names are in the
 * application usage's default namespace; unprefixed attribute names are in no namespace;
 * prefixes are bound only by the URI's xmlns() query, plus the reserved `xml` and `xmlns`, which it
 * cannot rebind.
 * The extension-selector production is not supported: anything else is a 400.
 *
 * The parser is one left-to-right pass with `indexOf` jumps: linear in the input, no
 * regular expression backtracking, whatever the input.
 */
import { BadRequest } from '../errors.ts';
import { isNcName } from '../uri.ts';
import { normalizeAttValue, XML_NS, XMLNS_NS } from '../xml.ts';

/** One element step. `ns` is '*' only together with `local` '*' (the `*` name test). */
export type Step = {
  kind: 'element';
  ns: string | null | '*';
  local: string | '*';
  /** 1-based position among the parent's children that pass the name test; 0 selects nothing. */
  position?: number;
  /** Attribute test, applied after the position test. */
  attr?: { ns: string | null; local: string; value: string };
  /** The step as written in the selector (for building URIs of ancestors). */
  text: string;
};

export type Terminal =
  | { kind: 'attribute'; ns: string | null; local: string; /** prefix as written, null if none */ prefix: string | null }
  | { kind: 'namespace' };

export interface NodeSelector {
  steps: Step[];
  terminal: Terminal | null;
  /** The selector text that was parsed. */
  text: string;
  /** The prefix bindings the selector was parsed with (to rebuild URIs of ancestors). */
  namespaces: Record<string, string>;
}

/**
 * Parses `text` (already percent-decoded) against the xmlns() bindings of the URI.
 * @param defaultNs the application usage's default document namespace ('' for none).
 * @throws BadRequest for syntax errors and unknown prefixes.
 */
export function parseSelector(text: string, namespaces: Record<string, string>, defaultNs: string): NodeSelector {
  const steps: Step[] = [];
  let terminal: Terminal | null = null;
  const n = text.length;
  let i = 0;
  for (;;) {
    if (i >= n) throw new BadRequest('empty step in node selector');
    const start = i;
    const c = text.charCodeAt(i);
    if (c === 0x40 /* @ */ && steps.length > 0) {
      const { ns, local, prefix } = attributeName(text.slice(i + 1), namespaces);
      terminal = { kind: 'attribute', ns, local, prefix };
      break;
    }
    if (steps.length > 0 && text.startsWith('namespace::*', i)) {
      if (i + 12 !== n) throw new BadRequest('namespace::* must end the node selector');
      terminal = { kind: 'namespace' };
      break;
    }
    const nameEnd = indexOfAny(text, i, 0x2f /* / */, 0x5b /* [ */);
    const step = elementNameTest(text.slice(i, nameEnd), namespaces, defaultNs);
    i = nameEnd;
    if (text.charCodeAt(i) === 0x5b && isDigit(text.charCodeAt(i + 1))) {
      const close = text.indexOf(']', i);
      if (close === -1) throw new BadRequest('unterminated position');
      const digits = text.slice(i + 1, close);
      for (let k = 0; k < digits.length; k++) {
        if (!isDigit(digits.charCodeAt(k))) throw new BadRequest('position is not a number');
      }
      // More digits than a double holds give a huge number or Infinity: past any end all the same.
      step.position = Number(digits);
      i = close + 1;
    }
    if (text.charCodeAt(i) === 0x5b && text.charCodeAt(i + 1) === 0x40) {
      i = attributeTest(text, i + 2, namespaces, step);
    }
    if (i < n && text.charCodeAt(i) !== 0x2f) throw new BadRequest('unexpected character in node selector step');
    step.text = text.slice(start, i);
    steps.push(step);
    if (i >= n) break;
    i++; // the '/'
  }
  return { steps, terminal, text, namespaces };
}

/** Parses `@name="value"]` from `i` (just after `[@`); fills `step.attr`; returns the index after `]`. */
function attributeTest(text: string, i: number, namespaces: Record<string, string>, step: Step): number {
  const eq = text.indexOf('=', i);
  if (eq === -1) throw new BadRequest('attribute test without =');
  const { ns, local } = attributeName(text.slice(i, eq), namespaces);
  const quote = text.charCodeAt(eq + 1);
  if (quote !== 0x22 && quote !== 0x27) throw new BadRequest('attribute test value must be quoted');
  const close = text.indexOf(text[eq + 1]!, eq + 2);
  if (close === -1) throw new BadRequest('unterminated attribute test value');
  const value = normalizeAttValue(text.slice(eq + 2, close));
  if (value === null) throw new BadRequest('attribute test value is not an XML AttValue');
  if (text.charCodeAt(close + 1) !== 0x5d /* ] */) throw new BadRequest('attribute test must end with ]');
  step.attr = { ns, local, value };
  return close + 2;
}

function elementNameTest(name: string, namespaces: Record<string, string>, defaultNs: string): Step {
  if (name === '*') return { kind: 'element', ns: '*', local: '*', text: '' };
  const colon = name.indexOf(':');
  if (colon === -1) {
    if (!isNcName(name)) throw new BadRequest('bad element name in node selector');
    return { kind: 'element', ns: defaultNs === '' ? null : defaultNs, local: name, text: '' };
  }
  const prefix = name.slice(0, colon);
  const local = name.slice(colon + 1);
  if (!isNcName(prefix) || !isNcName(local)) throw new BadRequest('bad element name in node selector');
  return { kind: 'element', ns: resolvePrefix(prefix, namespaces), local, text: '' };
}

function attributeName(
  name: string,
  namespaces: Record<string, string>,
): { ns: string | null; local: string; prefix: string | null } {
  const colon = name.indexOf(':');
  if (colon === -1) {
    if (!isNcName(name)) throw new BadRequest('bad attribute name in node selector');
    return { ns: null, local: name, prefix: null };
  }
  const prefix = name.slice(0, colon);
  const local = name.slice(colon + 1);
  if (!isNcName(prefix) || !isNcName(local)) throw new BadRequest('bad attribute name in node selector');
  return { ns: resolvePrefix(prefix, namespaces), local, prefix };
}

/** `xml` and `xmlns` are bound by definition (Namespaces in XML §3); an xmlns() part cannot rebind them (XPointer xmlns() §3). */
function resolvePrefix(prefix: string, namespaces: Record<string, string>): string {
  if (prefix === 'xml') return XML_NS;
  if (prefix === 'xmlns') return XMLNS_NS;
  if (Object.hasOwn(namespaces, prefix)) return namespaces[prefix]!;
  throw new BadRequest(`prefix ${prefix} is not bound by an xmlns() query part`);
}

function indexOfAny(s: string, from: number, a: number, b: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === a || c === b) return i;
  }
  return s.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

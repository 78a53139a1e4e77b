/**
 * The fast path of schema validation: one pass of the scanner over the text (or of the
 * DOM walker over a DOM already at hand), checked against a compiled schema.
 *
 * `check(text)` answers 'accept' only when libxml2 would certainly accept the document;
 * 'reject' when it certainly breaks a rule, 'unsure' for anything the fast path does not
 * model. Callers must treat anything but 'accept' as "ask libxml2" (it also owns the error
 * phrase users see).
 */
import type { Document, Element } from '@xmldom/xmldom';
import { Unsupported, isComplex } from './content-model.ts';
import type { AttributeDecl, ComplexType, ElementDecl, ModelState, SimpleType, UniqueConstraint } from './content-model.ts';
import { XML_NS, intern, internNamespace, scan } from './scanner.ts';
import type { Attributes, Verdict, XmlSink } from './scanner.ts';
import type { CompiledSchema } from './xsd-compiler.ts';
import type { WatchedElement } from '../schema.ts';
import { walkDocument, walkEdit } from './dom-walker.ts';

const XSI_NS = internNamespace('http://www.w3.org/2001/XMLSchema-instance');

/** How an element's content is assessed. */
const STRICT = 0; // a complex type
const SIMPLE = 1; // a simple type (element text only)
const LAX = 2; // anyType: declared globals inside are validated, the rest accepted
const SKIP = 3; // no assessment at all

interface Frame {
  mode: number;
  type: ComplexType | null;
  simple: SimpleType | null;
  state: ModelState | null;
  decl: ElementDecl | null;
  value: string;
  /** One set of seen keys per unique constraint of `decl`, created on first use. */
  keys: Array<Set<string> | undefined> | null;
  /** Whether some key here was whitespace-collapsed (then a repeat is not certain). */
  collapsed: boolean;
}

/** A repeated xs:unique value that libxml2 certainly refuses too: the same characters twice. */
export interface Duplicate {
  readonly elementNs: string;
  readonly element: string;
  readonly attributeNs: string;
  readonly attribute: string;
  readonly value: string;
  /** The element carrying the repeat: its place in document order, 1 for the root (see schema/locate.ts). */
  readonly ordinal: number;
}

export class FastValidator implements XmlSink {
  readonly #schema: CompiledSchema;
  readonly #frames: Frame[] = [];
  #depth = 0;
  /** Elements started so far in this run. */
  #elements = 0;
  readonly #ids = new Set<string>();
  /**
   * In an edit's run (checkEdit): the depth of the edited element, and whether an ID was met
   * in the part that changed (the edited element's start tag and, unless shallow, all below it).
   */
  #editDepth = Infinity;
  #changedId = false;
  /** Set while `knownElement` checks an unchanged start tag. */
  #known = false;
  /** Per attribute of the current start tag: whether its declared type compares as a string key. */
  readonly #stringKey: boolean[] = [];
  wantsText = false;
  #duplicate: Duplicate | null = null;
  readonly #watch: readonly WatchedElement[];
  #sawWatched = false;

  /** @param watch Elements whose presence the last run reports (`sawWatched`). */
  constructor(schema: CompiledSchema, watch: readonly WatchedElement[] = []) {
    this.#schema = schema;
    this.#watch = watch.map((w) => ({ ns: internNamespace(w.ns), local: intern(w.local) }));
  }

  check(text: string): Verdict {
    return this.#run(scan, text);
  }

  /**
   * The same verdict for a DOM, as `check` would give for the text the lean serializer
   * writes for it (src/xcap/serializer.ts), without that text: 'accept' only when libxml2
   * would accept that text. The DOM is only read.
   */
  checkDom(doc: Document): Verdict {
    return this.#run(walkDocument, doc);
  }

  /**
   * `checkDom` of an edited document when it passed validation before and only `edited`
   * (with what is below it) changed: `edited` is walked in full, its ancestors' own content
   * and their other children's start tags (content models, xs:unique keys among siblings)
   * are checked, and nothing else. IDs are unique across the whole document, and those below
   * unchanged siblings are not seen (lax content can hold any global element, an ID-bearing
   * one too): 'unsure' when the changed part holds an ID, unless the change was a `removal`
   * only (which adds none); otherwise the IDs the document had stay unique. `length` is the
   * length of the document's text. `shallow`: only `edited`'s start tag and its own content
   * changed, not its children (walkEdit).
   */
  checkEdit(doc: Document, edited: Element, length: number, shallow = false, removal = false): Verdict {
    let depth = 0;
    for (let n: Element | null = edited; n !== null && n.nodeType === 1; n = n.parentNode as Element | null) depth++;
    this.#editDepth = depth;
    try {
      const verdict = this.#run((d: Document, sink: XmlSink) => walkEdit(d, edited, length, sink, shallow), doc);
      return verdict === 'accept' && this.#changedId && !removal ? 'unsure' : verdict;
    } finally {
      this.#editDepth = Infinity;
    }
  }

  /** An element known valid: its start tag is checked against its parent, then it is closed unseen (XmlSink). */
  knownElement(ns: string, local: string, attrs: Attributes): Verdict | undefined {
    this.#known = true;
    const v = this.startElement(ns, local, attrs);
    this.#known = false;
    if (v !== undefined) return v;
    this.#depth--;
    const parent = this.#frames[this.#depth - 1] as Frame;
    this.wantsText = parent.mode === SIMPLE;
    return undefined;
  }

  /**
   * Why the last 'reject' was given, when it is a repeated xs:unique value: libxml2 needs no
   * asking then (its identity-constraint check costs far more per repeat than ours).
   */
  get duplicate(): Duplicate | null {
    return this.#duplicate;
  }

  /** Whether the last run met an element named in `watch` (undefined when nothing is watched). */
  get sawWatched(): boolean | undefined {
    return this.#watch.length === 0 ? undefined : this.#sawWatched;
  }

  #run<T>(drive: (input: T, sink: XmlSink) => Verdict, input: T): Verdict {
    this.#depth = 0;
    this.#elements = 0;
    this.#duplicate = null;
    this.#sawWatched = false;
    this.#ids.clear();
    this.#changedId = false;
    this.#known = false;
    this.wantsText = false;
    try {
      return drive(input, this);
    } catch (e) {
      if (e instanceof Unsupported) return 'unsure';
      throw e;
    }
  }

  startElement(ns: string, local: string, attrs: Attributes): Verdict | undefined {
    this.#elements++;
    if (!this.#sawWatched) {
      for (const w of this.#watch) if (w.local === local && w.ns === ns) this.#sawWatched = true;
    }
    const parent = this.#depth > 0 ? (this.#frames[this.#depth - 1] as Frame) : null;
    const frame = this.#push();
    let decl: ElementDecl | null = null;
    if (parent === null) {
      decl = this.#global(ns, local) ?? null;
      if (decl === null) return 'reject';
    } else if (parent.mode === STRICT) {
      const t = parent.type as ComplexType;
      if (t.model === null || parent.state === null) return 'reject';
      const step = t.model.step(parent.state, ns, local);
      if (step === null) return 'reject';
      parent.state = step.state;
      const target = step.target;
      if ('allows' in target) {
        if (target.process === 'skip') frame.mode = SKIP;
        else {
          decl = this.#global(ns, local) ?? null;
          if (decl === null && target.process === 'strict') return 'reject';
        }
      } else decl = target;
    } else if (parent.mode === LAX) decl = this.#global(ns, local) ?? null;
    else if (parent.mode === SKIP) frame.mode = SKIP;
    else return 'reject'; // an element inside simple content

    const v = this.#open(frame, decl, attrs);
    if (v !== undefined) return v;
    if (parent !== null && parent.decl !== null && parent.decl.uniques.length > 0) return this.#unique(parent, ns, local, attrs);
    return undefined;
  }

  /** Sets up the frame of a new element and checks its attributes. */
  #open(frame: Frame, decl: ElementDecl | null, attrs: Attributes): Verdict | undefined {
    this.wantsText = false;
    if (frame.mode === SKIP) {
      for (let i = 0; i < attrs.count; i++) this.#stringKey[i] = false;
      return undefined;
    }
    if (decl === null || decl.type === 'any') return this.#laxAttributes(frame, attrs, decl);
    frame.decl = decl;
    const type = decl.type;
    if (isComplex(type)) {
      frame.mode = type.content === 'simple' ? SIMPLE : STRICT;
      frame.type = type;
      frame.simple = type.simple;
      frame.state = type.model === null ? null : type.model.start;
      const v = this.#attributes(type, attrs, decl);
      if (v !== undefined) return v;
    } else {
      frame.mode = SIMPLE;
      frame.simple = type;
      for (let i = 0; i < attrs.count; i++) {
        if (attrs.ns[i] !== XSI_NS) return 'reject';
        const v = xsi(attrs.local[i] as string, decl);
        if (v !== undefined) return v;
      }
    }
    this.wantsText = frame.mode === SIMPLE;
    return undefined;
  }

  text(value: string | null, blank: boolean): Verdict | undefined {
    const frame = this.#frames[this.#depth - 1] as Frame;
    if (frame.mode === SIMPLE) frame.value += value ?? '';
    else if (frame.mode === STRICT) {
      const content = (frame.type as ComplexType).content;
      if (content === 'empty') return 'unsure';
      if (content === 'elements' && !blank) return 'reject';
    }
    return undefined;
  }

  comment(): Verdict | undefined {
    // libxml2 joins text around a comment; not worth modelling for simple values.
    return (this.#frames[this.#depth - 1] as Frame).mode === SIMPLE ? 'unsure' : undefined;
  }

  endElement(): Verdict | undefined {
    const frame = this.#frames[--this.#depth] as Frame;
    const parent = this.#depth > 0 ? (this.#frames[this.#depth - 1] as Frame) : null;
    this.wantsText = parent !== null && parent.mode === SIMPLE;
    if (frame.mode === STRICT) {
      if (frame.state !== null && !frame.state.accepting) return 'reject';
    } else if (frame.mode === SIMPLE) {
      const simple = frame.simple as SimpleType;
      if (!simple.check(frame.value)) return 'unsure';
      if (simple.id) return this.#id(frame.value, this.#depth + 1);
    }
    return undefined;
  }

  #push(): Frame {
    let f = this.#frames[this.#depth];
    if (f === undefined) {
      f = { mode: LAX, type: null, simple: null, state: null, decl: null, value: '', keys: null, collapsed: false };
      this.#frames.push(f);
    } else {
      f.mode = LAX;
      f.type = null;
      f.simple = null;
      f.state = null;
      f.decl = null;
      f.value = '';
      f.keys = null;
      f.collapsed = false;
    }
    this.#depth++;
    return f;
  }

  #global(ns: string, local: string): ElementDecl | undefined {
    return this.#schema.elements.get(ns)?.get(local);
  }

  #globalAttribute(ns: string, local: string): AttributeDecl | undefined {
    return this.#schema.attributes.get(ns)?.get(local);
  }

  /** anyType: attributes with a global declaration are validated, others accepted. */
  #laxAttributes(frame: Frame, attrs: Attributes, decl: ElementDecl | null): Verdict | undefined {
    frame.mode = LAX;
    frame.decl = decl;
    for (let i = 0; i < attrs.count; i++) {
      const ns = attrs.ns[i] as string;
      if (ns === XSI_NS) {
        // An element without a declaration: whether libxml2 checks xsi:nil there is not modelled.
        const v = decl === null ? 'unsure' : xsi(attrs.local[i] as string, decl);
        if (v !== undefined) return v;
        this.#stringKey[i] = false;
        continue;
      }
      const v = this.#attributeValue(ns === '' ? undefined : this.#globalAttribute(ns, attrs.local[i] as string), attrs, i);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  #attributes(type: ComplexType, attrs: Attributes, element: ElementDecl): Verdict | undefined {
    let required = 0;
    const declared = type.attrs;
    for (let i = 0; i < attrs.count; i++) {
      const ns = attrs.ns[i] as string;
      const local = attrs.local[i] as string;
      if (ns === XSI_NS) {
        const v = xsi(local, element);
        if (v !== undefined) return v;
        this.#stringKey[i] = false;
        continue;
      }
      let decl: AttributeDecl | undefined;
      for (let k = 0; k < declared.length; k++) {
        const d = declared[k] as AttributeDecl;
        if (d.local === local && d.ns === ns) {
          decl = d;
          break;
        }
      }
      if (decl !== undefined) {
        if (decl.required) required++;
      } else {
        const wild = type.anyAttribute;
        if (wild === null || !wild.allows(ns)) return 'reject';
        if (wild.process === 'skip') {
          this.#stringKey[i] = false;
          continue;
        }
        decl = this.#globalAttribute(ns, local);
        if (decl === undefined && wild.process === 'strict') return 'reject';
      }
      const v = this.#attributeValue(decl, attrs, i);
      if (v !== undefined) return v;
    }
    return required === type.requiredCount ? undefined : 'reject';
  }

  /** Checks attribute i against its declaration (none: accepted as is), noting its key kind. */
  #attributeValue(decl: AttributeDecl | undefined, attrs: Attributes, i: number): Verdict | undefined {
    if (decl === undefined) {
      // xml:* attributes without a declaration in this schema set are still typed for libxml2.
      if (attrs.ns[i] === XML_NS) return 'unsure';
      this.#stringKey[i] = false;
      return undefined;
    }
    const value = attrs.value[i] as string;
    if (!decl.type.check(value)) return 'unsure';
    this.#stringKey[i] = decl.type.stringKey;
    return decl.type.id ? this.#id(value, this.#depth) : undefined;
  }

  /** An ID `value` on (or in) the element at `depth`. */
  #id(value: string, depth: number): Verdict | undefined {
    if (depth >= this.#editDepth && !this.#known) this.#changedId = true;
    if (this.#ids.has(value)) return 'reject';
    this.#ids.add(value);
    return undefined;
  }

  /** xs:unique of the parent's declaration over this child's attribute. */
  #unique(parent: Frame, ns: string, local: string, attrs: Attributes): Verdict | undefined {
    const uniques = (parent.decl as ElementDecl).uniques;
    for (let u = 0; u < uniques.length; u++) {
      const c = uniques[u] as UniqueConstraint;
      if (c.local !== local || c.ns !== ns) continue;
      for (let i = 0; i < attrs.count; i++) {
        if (attrs.local[i] !== c.fieldLocal || attrs.ns[i] !== c.fieldNs) continue;
        if (this.#stringKey[i] !== true) return 'unsure';
        // Collapsing can only merge values libxml2 keeps apart: a false duplicate goes to libxml2.
        const value = attrs.value[i] as string;
        const key = collapse(value);
        if (key !== value) parent.collapsed = true;
        const keys = (parent.keys ??= []);
        let seen = keys[u];
        if (seen === undefined) keys[u] = seen = new Set();
        const size = seen.size;
        if (seen.add(key).size === size) {
          if (!parent.collapsed) this.#duplicate = { elementNs: ns, element: local, attributeNs: c.fieldNs, attribute: c.fieldLocal, value, ordinal: this.#elements };
          return 'reject';
        }
      }
    }
    return undefined;
  }
}

/**
 * An xsi:* attribute (`local`) on an instance of `decl`: undefined when libxml2 lets it be
 * whatever its value. xsi:schemaLocation and xsi:noNamespaceSchemaLocation (what clients
 * send) are hints libxml2 ignores when it validates against a compiled schema; xsi:nil on an
 * element not declared nillable is refused, whatever its value; xsi:type (another type) and
 * anything else are not modelled.
 */
function xsi(local: string, decl: ElementDecl): Verdict | undefined {
  if (local === 'schemaLocation' || local === 'noNamespaceSchemaLocation') return undefined;
  return local === 'nil' && !decl.nillable ? 'reject' : 'unsure';
}

/** XSD whitespace collapse; values without whitespace (the usual case) are returned as they are. */
function collapse(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return value.replace(/[ \t\r\n]+/g, ' ').trim();
  }
  return value;
}

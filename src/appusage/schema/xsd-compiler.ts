/**
 * Compiles the project's own .xsd files into the structures of content-model.ts for the
 * fast validator. Supported: global and local element declarations (qualified or not),
 * named and anonymous complex types, sequence/choice with occurrences (nested), xs:any and
 * xs:anyAttribute (##any, ##other, lists; strict/lax/skip), attributes (required/optional,
 * by type or ref), simpleContent and complexContent extension, simple types by restriction
 * (enumeration; other facets make the type "unknown") and union, xs:unique with a one-step
 * child selector and one `@attribute` field, xs:import between registered files.
 *
 * Anything else (substitution groups, abstract or fixed-value elements, groups, xs:all,
 * key/keyref, restrictions of complex types, include/redefine...) throws `Unsupported`: the
 * caller then keeps libxml2 alone for that schema.
 */
import { dirname, resolve } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import { ContentModel, Unsupported, isComplex } from './content-model.ts';
import type { AttributeDecl, ComplexType, ElementDecl, Particle, SimpleType, UniqueConstraint, Wildcard } from './content-model.ts';
import { intern, internNamespace } from './scanner.ts';
import { BUILT_IN, UNKNOWN, enumeration, union } from './simple-types.ts';

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

/** Every global component of the schema set, keyed by namespace then local name. */
export interface CompiledSchema {
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, ElementDecl>>;
  readonly attributes: ReadonlyMap<string, ReadonlyMap<string, AttributeDecl>>;
}

/** Reads a schema file by absolute path; undefined when it is not one of the registered files. */
export type SchemaSource = (path: string) => Uint8Array | undefined;

/**
 * Compiles the schema at `mainPath` and everything it imports (read through `source`).
 * @throws Unsupported for any construct outside the supported subset, or a file that is not available
 */
export function compileSchema(mainPath: string, source: SchemaSource): CompiledSchema {
  return new Compiler(source).run(mainPath);
}

interface SchemaDoc {
  readonly root: Element;
  readonly targetNs: string;
  readonly qualifiedElements: boolean;
}

type AnyType = ComplexType | SimpleType | 'any';

class Compiler {
  readonly #source: SchemaSource;
  readonly #docs = new Map<string, SchemaDoc>();
  /** Global declarations and definitions by kind, `{ns}local`, with the document they live in. */
  readonly #globals = new Map<string, { node: Element; doc: SchemaDoc }>();
  readonly #elements = new Map<Element, ElementDecl>();
  readonly #complex = new Map<Element, ComplexType>();
  readonly #simple = new Map<Element, SimpleType>();
  readonly #attributes = new Map<Element, AttributeDecl>();
  readonly #deferred: Array<() => boolean> = [];
  readonly #allComplex: ComplexType[] = [];

  constructor(source: SchemaSource) {
    this.#source = source;
  }

  run(mainPath: string): CompiledSchema {
    this.#load(resolve(mainPath));
    const elements = new Map<string, Map<string, ElementDecl>>();
    const attributes = new Map<string, Map<string, AttributeDecl>>();
    for (const [key, { node, doc }] of this.#globals) {
      if (key.startsWith('element ')) put(elements, this.#element(node, doc, true));
      else if (key.startsWith('attribute ')) put(attributes, this.#attribute(node, doc, true));
    }
    // Extensions whose base was still being built; each pass must finish at least one.
    while (this.#deferred.length > 0) {
      const before = this.#deferred.length;
      for (const fn of this.#deferred.splice(0)) if (!fn()) this.#deferred.push(fn);
      if (this.#deferred.length === before) throw new Unsupported('circular type derivation');
    }
    for (const t of this.#allComplex) if (t.particle !== null) t.model = new ContentModel(t.particle);
    return { elements, attributes };
  }

  #load(path: string): void {
    if (this.#docs.has(path)) return;
    const bytes = this.#source(path);
    if (bytes === undefined) throw new Unsupported(`schema file ${path} is not available`);
    const root = new DOMParser().parseFromString(Buffer.from(bytes).toString('utf8'), 'application/xml').documentElement;
    if (root === null || root.namespaceURI !== XSD_NS || root.localName !== 'schema') throw new Unsupported('not a schema');
    if (root.getAttribute('attributeFormDefault') === 'qualified') throw new Unsupported('qualified attributes');
    const doc: SchemaDoc = {
      root,
      targetNs: internNamespace(root.getAttribute('targetNamespace') ?? ''),
      qualifiedElements: root.getAttribute('elementFormDefault') === 'qualified',
    };
    this.#docs.set(path, doc);
    for (const child of xsdChildren(root)) {
      const kind = child.localName;
      if (kind === 'import') {
        const location = child.getAttribute('schemaLocation');
        if (!location) throw new Unsupported('import without schemaLocation');
        this.#load(resolve(dirname(path), location));
      } else if (kind === 'element' || kind === 'attribute' || kind === 'complexType' || kind === 'simpleType') {
        const key = `${kind} {${doc.targetNs}}${required(child, 'name')}`;
        if (this.#globals.has(key)) throw new Unsupported(`duplicate ${key}`);
        this.#globals.set(key, { node: child, doc });
      } else if (kind !== 'annotation') throw new Unsupported(`xs:${kind}`);
    }
  }

  #global(kind: string, node: Element, qname: string): { node: Element; doc: SchemaDoc } {
    const [ns, local] = resolveQName(node, qname);
    const g = this.#globals.get(`${kind} {${ns}}${local}`);
    if (g === undefined) throw new Unsupported(`no ${kind} ${qname}`);
    return g;
  }

  #element(node: Element, doc: SchemaDoc, global: boolean): ElementDecl {
    const ref = node.getAttribute('ref');
    if (ref) {
      const g = this.#global('element', node, ref);
      return this.#element(g.node, g.doc, true);
    }
    const known = this.#elements.get(node);
    if (known !== undefined) return known;
    for (const a of ['substitutionGroup', 'default', 'fixed']) if (node.hasAttribute(a)) throw new Unsupported(`element @${a}`);
    if (node.getAttribute('abstract') === 'true') throw new Unsupported('abstract element');
    const form = node.getAttribute('form');
    const qualified = global || (form ? form === 'qualified' : doc.qualifiedElements);
    const uniques: UniqueConstraint[] = [];
    const nillable = ['true', '1'].includes(node.getAttribute('nillable')?.trim() ?? '');
    const decl: ElementDecl = { ns: qualified ? doc.targetNs : '', local: intern(required(node, 'name')), type: 'any', uniques, nillable };
    this.#elements.set(node, decl);
    const typeName = node.getAttribute('type');
    let inline: AnyType | undefined;
    for (const child of xsdChildren(node)) {
      const kind = child.localName;
      if (kind === 'complexType') inline = this.#complexType(child, doc);
      else if (kind === 'simpleType') inline = this.#simpleType(child, doc);
      else if (kind === 'unique') uniques.push(unique(child));
      else if (kind !== 'annotation') throw new Unsupported(`element child xs:${kind}`);
    }
    if (typeName && inline !== undefined) throw new Unsupported('element with both type and inline type');
    decl.type = inline ?? (typeName ? this.#typeByName(node, typeName) : 'any');
    return decl;
  }

  #typeByName(node: Element, qname: string): AnyType {
    const [ns, local] = resolveQName(node, qname);
    if (ns === XSD_NS) return local === 'anyType' ? 'any' : (BUILT_IN.get(local) ?? UNKNOWN);
    const c = this.#globals.get(`complexType {${ns}}${local}`);
    if (c !== undefined) return this.#complexType(c.node, c.doc);
    const s = this.#globals.get(`simpleType {${ns}}${local}`);
    if (s !== undefined) return this.#simpleType(s.node, s.doc);
    throw new Unsupported(`no type ${qname}`);
  }

  #simpleByName(node: Element, qname: string): SimpleType {
    const t = this.#typeByName(node, qname);
    if (t === 'any' || isComplex(t)) throw new Unsupported(`${qname} is not a simple type`);
    return t;
  }

  #simpleType(node: Element, doc: SchemaDoc): SimpleType {
    const known = this.#simple.get(node);
    if (known !== undefined) return known;
    let result: SimpleType | undefined;
    for (const child of xsdChildren(node)) {
      const kind = child.localName;
      if (kind === 'restriction') result = this.#restriction(child, doc);
      else if (kind === 'union') {
        const members = (child.getAttribute('memberTypes') ?? '').split(/\s+/).filter(Boolean).map((q) => this.#simpleByName(child, q));
        for (const inner of xsdChildren(child)) if (inner.localName === 'simpleType') members.push(this.#simpleType(inner, doc));
        result = union(members);
      } else if (kind === 'list') result = UNKNOWN;
      else if (kind !== 'annotation') throw new Unsupported(`simpleType child xs:${kind}`);
    }
    if (result === undefined) throw new Unsupported('empty simpleType');
    this.#simple.set(node, result);
    return result;
  }

  #restriction(node: Element, doc: SchemaDoc): SimpleType {
    const baseName = node.getAttribute('base');
    let base: SimpleType | undefined = baseName ? this.#simpleByName(node, baseName) : undefined;
    const values: string[] = [];
    let otherFacet = false;
    for (const child of xsdChildren(node)) {
      const kind = child.localName;
      if (kind === 'simpleType') base = this.#simpleType(child, doc);
      else if (kind === 'enumeration') values.push(child.getAttribute('value') ?? '');
      else if (kind !== 'annotation') otherFacet = true;
    }
    if (base === undefined) throw new Unsupported('restriction without base');
    // Patterns, lengths, bounds: not modelled, so every value goes to libxml2.
    if (otherFacet) return UNKNOWN;
    return values.length > 0 ? enumeration(base, values) : base;
  }

  #complexType(node: Element, doc: SchemaDoc): ComplexType {
    const known = this.#complex.get(node);
    if (known !== undefined) return known;
    if (node.getAttribute('abstract') === 'true') throw new Unsupported('abstract type');
    const t: ComplexType = {
      content: 'empty',
      particle: null,
      model: null,
      simple: null,
      attrs: [],
      requiredCount: 0,
      anyAttribute: null,
      ready: false,
    };
    this.#complex.set(node, t);
    this.#allComplex.push(t);
    const mixed = node.getAttribute('mixed') === 'true';
    let derived = false;
    for (const child of xsdChildren(node)) {
      const kind = child.localName;
      if (kind === 'simpleContent') {
        this.#simpleContent(t, child, doc);
        derived = true;
      } else if (kind === 'complexContent') {
        if (mixed || child.getAttribute('mixed') === 'true') throw new Unsupported('mixed complexContent');
        this.#complexContent(t, child, doc);
        derived = true;
      } else this.#typeChild(t, child, doc);
    }
    if (!derived) {
      t.content = t.particle === null ? (mixed ? 'mixed' : 'empty') : mixed ? 'mixed' : 'elements';
      t.ready = true;
    }
    return t;
  }

  /** A particle, attribute or attribute wildcard directly inside a complex type or an extension. */
  #typeChild(t: ComplexType, child: Element, doc: SchemaDoc): void {
    const kind = child.localName;
    if (kind === 'sequence' || kind === 'choice') {
      if (t.particle !== null) throw new Unsupported('two particles');
      t.particle = this.#particle(child, doc);
    } else if (kind === 'attribute') addAttribute(t, this.#attribute(child, doc, false));
    else if (kind === 'anyAttribute') {
      if (t.anyAttribute !== null) throw new Unsupported('two attribute wildcards');
      t.anyAttribute = wildcard(child, doc);
    } else if (kind !== 'annotation') throw new Unsupported(`complexType child xs:${kind}`);
  }

  #simpleContent(t: ComplexType, node: Element, doc: SchemaDoc): void {
    const ext = onlyChild(node, 'extension');
    const baseName = required(ext, 'base');
    const base = this.#typeByName(ext, baseName);
    for (const child of xsdChildren(ext)) this.#typeChild(t, child, doc);
    if (t.particle !== null) throw new Unsupported('particle in simpleContent');
    const finish = (): boolean => {
      if (base === 'any') throw new Unsupported('simpleContent of anyType');
      if (isComplex(base)) {
        if (!base.ready) return false;
        if (base.content !== 'simple' || base.simple === null) throw new Unsupported('simpleContent of a complex base');
        inherit(t, base);
        t.simple = base.simple;
      } else t.simple = base;
      t.content = 'simple';
      t.ready = true;
      return true;
    };
    if (!finish()) this.#deferred.push(finish);
  }

  #complexContent(t: ComplexType, node: Element, doc: SchemaDoc): void {
    const ext = onlyChild(node, 'extension');
    const base = this.#typeByName(ext, required(ext, 'base'));
    if (!isComplex(base)) throw new Unsupported('complexContent of a non-complex base');
    for (const child of xsdChildren(ext)) this.#typeChild(t, child, doc);
    const own = t.particle;
    const finish = (): boolean => {
      if (!base.ready) return false;
      if (base.content === 'simple' || base.content === 'mixed') throw new Unsupported('complexContent of simple or mixed base');
      inherit(t, base);
      if (base.particle !== null && own !== null) t.particle = { kind: 'sequence', items: [base.particle, own], min: 1, max: 1 };
      else t.particle = base.particle ?? own;
      t.content = t.particle === null ? 'empty' : 'elements';
      t.ready = true;
      return true;
    };
    if (!finish()) this.#deferred.push(finish);
  }

  #particle(node: Element, doc: SchemaDoc): Particle {
    const kind = node.localName;
    const [min, max] = occurs(node);
    if (kind === 'element') return { kind: 'element', decl: this.#element(node, doc, false), min, max };
    if (kind === 'any') return { kind: 'any', wildcard: wildcard(node, doc), min, max };
    if (kind !== 'sequence' && kind !== 'choice') throw new Unsupported(`particle xs:${kind}`);
    const items: Particle[] = [];
    for (const child of xsdChildren(node)) if (child.localName !== 'annotation') items.push(this.#particle(child, doc));
    return { kind, items, min, max };
  }

  #attribute(node: Element, doc: SchemaDoc, global: boolean): AttributeDecl {
    const known = this.#attributes.get(node);
    if (known !== undefined) return known;
    const use = node.getAttribute('use') || 'optional';
    if (use === 'prohibited' || node.hasAttribute('fixed')) throw new Unsupported('prohibited or fixed attribute');
    if (node.getAttribute('form') === 'qualified') throw new Unsupported('qualified attribute');
    const ref = node.getAttribute('ref');
    let decl: AttributeDecl;
    if (ref) {
      const g = this.#global('attribute', node, ref);
      const target = this.#attribute(g.node, g.doc, true);
      decl = { ...target, required: use === 'required' };
    } else {
      const typeName = node.getAttribute('type');
      let type: SimpleType = typeName ? this.#simpleByName(node, typeName) : BUILT_IN.get('anySimpleType') ?? UNKNOWN;
      for (const child of xsdChildren(node)) {
        if (child.localName === 'simpleType') type = this.#simpleType(child, doc);
        else if (child.localName !== 'annotation') throw new Unsupported(`attribute child xs:${child.localName}`);
      }
      decl = { ns: global ? doc.targetNs : '', local: intern(required(node, 'name')), type, required: use === 'required' };
    }
    this.#attributes.set(node, decl);
    return decl;
  }
}

function put<T extends { ns: string; local: string }>(map: Map<string, Map<string, T>>, item: T): void {
  let byLocal = map.get(item.ns);
  if (byLocal === undefined) map.set(item.ns, (byLocal = new Map()));
  byLocal.set(item.local, item);
}

function addAttribute(t: ComplexType, a: AttributeDecl): void {
  if (t.attrs.some((b) => b.ns === a.ns && b.local === a.local)) throw new Unsupported('attribute declared twice');
  t.attrs.push(a);
  if (a.required) t.requiredCount++;
}

/** Attributes and attribute wildcard of an extension's base. */
function inherit(t: ComplexType, base: ComplexType): void {
  for (const a of base.attrs) addAttribute(t, a);
  if (base.anyAttribute !== null) {
    // The union of two wildcards is not modelled.
    if (t.anyAttribute !== null) throw new Unsupported('two attribute wildcards');
    t.anyAttribute = base.anyAttribute;
  }
}

function xsdChildren(node: Element): Element[] {
  const out: Element[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType !== 1) continue;
    const el = c as Element;
    if (el.namespaceURI !== XSD_NS) throw new Unsupported('foreign element in schema');
    out.push(el);
  }
  return out;
}

function onlyChild(node: Element, name: string): Element {
  const children = xsdChildren(node).filter((c) => c.localName !== 'annotation');
  const first = children[0];
  if (children.length !== 1 || first === undefined || first.localName !== name) throw new Unsupported(`expected only xs:${name}`);
  return first;
}

function required(node: Element, attr: string): string {
  const v = node.getAttribute(attr);
  if (!v) throw new Unsupported(`missing @${attr}`);
  return v;
}

function resolveQName(node: Element, qname: string): [string, string] {
  const colon = qname.indexOf(':');
  return [namespaceOf(node, colon < 0 ? '' : qname.slice(0, colon)), qname.slice(colon + 1)];
}

/** The namespace bound to `prefix` ('' = default) where `node` is, from the xmlns attributes in scope. */
function namespaceOf(node: Element, prefix: string): string {
  if (prefix === 'xml') return 'http://www.w3.org/XML/1998/namespace';
  const attr = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
  for (let n: Element | null = node; n !== null; n = n.parentNode?.nodeType === 1 ? (n.parentNode as Element) : null) {
    if (n.hasAttribute(attr)) return n.getAttribute(attr) ?? '';
  }
  if (prefix !== '') throw new Unsupported(`undeclared prefix ${prefix}`);
  return '';
}

function occurs(node: Element): [number, number] {
  const minText = node.getAttribute('minOccurs') || '1';
  const maxText = node.getAttribute('maxOccurs') || '1';
  if (!/^[0-9]+$/.test(minText) || !/^(?:[0-9]+|unbounded)$/.test(maxText)) throw new Unsupported('odd occurrence');
  const min = Number(minText);
  const max = maxText === 'unbounded' ? Infinity : Number(maxText);
  if (max < min) throw new Unsupported('maxOccurs < minOccurs');
  return [min, max];
}

function wildcard(node: Element, doc: SchemaDoc): Wildcard {
  const process = node.getAttribute('processContents') || 'strict';
  if (process !== 'strict' && process !== 'lax' && process !== 'skip') throw new Unsupported('processContents');
  const spec = (node.getAttribute('namespace') || '##any').trim();
  if (spec === '##any') return { process, allows: () => true };
  const target = doc.targetNs;
  // ##other: neither the target namespace nor "no namespace".
  if (spec === '##other') return { process, allows: (ns) => ns !== target && ns !== '' };
  const allowed = new Set(
    spec.split(/\s+/).map((t) => {
      if (t === '##targetNamespace') return target;
      if (t === '##local') return '';
      if (t.startsWith('##')) throw new Unsupported(`namespace ${t}`);
      return t;
    }),
  );
  return { process, allows: (ns) => allowed.has(ns) };
}

const SELECTOR = /^(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)$/;
const FIELD = /^@(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)$/;

function unique(node: Element): UniqueConstraint {
  let selector: RegExpExecArray | null = null;
  let field: RegExpExecArray | null = null;
  let fields = 0;
  for (const child of xsdChildren(node)) {
    const xpath = (child.getAttribute('xpath') ?? '').trim();
    if (child.localName === 'selector') selector = SELECTOR.exec(xpath);
    else if (child.localName === 'field') {
      field = FIELD.exec(xpath);
      fields++;
    } else if (child.localName !== 'annotation') throw new Unsupported(`unique child xs:${child.localName}`);
  }
  if (selector === null || field === null || fields !== 1) throw new Unsupported('identity constraint form');
  // In XPath an unprefixed name has no namespace, whatever the default namespace is.
  const prefixNs = (p: string | undefined, child: Element): string => (p === undefined ? '' : internNamespace(namespaceOf(child, p)));
  return {
    ns: prefixNs(selector[1], node),
    local: intern(selector[2] as string),
    fieldNs: prefixNs(field[1], node),
    fieldLocal: intern(field[2] as string),
  };
}

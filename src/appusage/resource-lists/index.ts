/**
 * resource-lists application usage (RFC 4826 §3.4): contact lists.
 *
 * Beyond the schema (§3.4.3) the usage enforces §3.4.5: within one parent, `<list name>`,
 * `<entry uri>`, `<entry-ref ref>` and `<external anchor>` values are unique; `ref` is a
 * relative path reference from the XCAP root into a resource-lists document; `anchor` is
 * an absolute HTTP URI.
 *
 * Lenient flag `entry-without-uri` (Snom, Bria): `<entry>` elements without `uri` that carry
 * their data in `cp:prop` name/value pairs are accepted. The schema still checks everything
 * else about them (a placeholder `uri` is set on a copy for the schema check), and they take
 * no part in uri uniqueness.
 */
import type { Document, Element } from '@xmldom/xmldom';
import { ConstraintFailure, SchemaValidationError, type RepeatedKey } from '../../xcap/errors.ts';
import { serialize } from '../../xcap/xml.ts';
import { childElements, rootElement } from '../common/dom.ts';
import { schemaAcceptedEdit } from '../common/edit.ts';
import { schemaFile } from '../common/paths.ts';
import { requireUniqueAttribute, step, uniquenessFailure } from '../common/unique.ts';
import { loadSchema } from '../schema.ts';
import { scan, type Attributes, type XmlSink } from '../schema/scanner.ts';
import type { AppUsage } from '../types.ts';

export const RESOURCE_LISTS_NS = 'urn:ietf:params:xml:ns:resource-lists';

/** Leniency flag name (config `clients.<name>.lenient`). */
export const ENTRY_WITHOUT_URI = 'entry-without-uri';

const schema = loadSchema(schemaFile('resource-lists/resource-lists.xsd'), {
  imports: [schemaFile('common/xml.xsd')],
  // ref/anchor rules are beyond the schema: the scan says whether the walk has anything to check.
  watch: [
    { ns: RESOURCE_LISTS_NS, local: 'entry-ref' },
    { ns: RESOURCE_LISTS_NS, local: 'external' },
  ],
});

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/**
 * Whether a document may hold `<entry-ref>` or `<external>` (prefixed or not), for the
 * documents the schema's fast path did not scan: matching start tags only, so a display
 * name saying "external" does not cost a DOM.
 */
const REF_OR_EXTERNAL = /<(?:[^\s<>/:]+:)?(?:entry-ref|external)[\s/>]/;

/**
 * Checks the §3.4.5 constraints on the children of one list-like element (a `<list>`, or an
 * rls-services `<list>` whose children are resource-lists elements) and below it.
 * `path` is the node selector of `container`.
 */
export function checkListConstraints(container: Element, path: string): void {
  const lists = checkListChildren(container, path);
  lists.forEach((list, i) => checkListConstraints(list, `${path}/${step('list', i)}`));
}

/** `checkListConstraints` of `container`'s own children, not below them; returns its child lists. */
export function checkListChildren(container: Element, path: string): Element[] {
  const lists = childElements(container, RESOURCE_LISTS_NS, 'list');
  const entries = childElements(container, RESOURCE_LISTS_NS, 'entry');
  const refs = childElements(container, RESOURCE_LISTS_NS, 'entry-ref');
  const externals = childElements(container, RESOURCE_LISTS_NS, 'external');
  requireUniqueAttribute(lists, 'name', (i) => `${path}/${step('list', i)}`);
  requireUniqueAttribute(entries, 'uri', (i) => `${path}/${step('entry', i)}`);
  requireUniqueAttribute(refs, 'ref', (i) => `${path}/${step('entry-ref', i)}`);
  requireUniqueAttribute(externals, 'anchor', (i) => `${path}/${step('external', i)}`);
  for (const ref of refs) checkRef(ref.getAttribute('ref') ?? '');
  for (const ext of externals) {
    if (ext.hasAttribute('anchor')) checkAnchor(ext.getAttribute('anchor') as string);
  }
  return lists;
}

/** The children `checkListConstraints` reads, in the order it checks them, and the attribute each must not repeat. */
const KINDS = ['list', 'entry', 'entry-ref', 'external'] as const;
const KEYS = ['name', 'uri', 'ref', 'anchor'] as const;

/** One kind of child of a container being scanned: how many so far, their key values, the first repeat. */
interface Kind {
  count: number;
  readonly values: Set<string>;
  repeat: { readonly index: number; readonly value: string } | null;
}

/** The root, or a `<list>` in a container, while the text is scanned. */
interface Container {
  readonly path: string;
  readonly kinds: readonly Kind[];
  /** The first ref and anchor rule failures among its children, and the first failure of a child list. */
  badRef: ConstraintFailure | null;
  badAnchor: ConstraintFailure | null;
  child: Error | null;
}

/**
 * `checkListConstraints` of the root from the text, by one scan instead of a DOM: the same
 * failure (the first in its order: repeats by kind, ref rules, anchor rules, then child lists
 * in turn), null when there is none, undefined when the scanner cannot vouch for the text
 * (not well-formed, or a construct it leaves to libxml2).
 */
export function listConstraintsOfText(text: string): Error | null | undefined {
  const sink = new ListConstraints();
  return scan(text, sink) === 'accept' ? sink.failure : undefined;
}

class ListConstraints implements XmlSink {
  readonly wantsText = false;
  failure: Error | null = null;
  /** Per open element: its container state, or null when checkListConstraints does not look inside it. */
  readonly #open: Array<Container | null> = [];

  startElement(ns: string, local: string, attrs: Attributes): undefined {
    if (this.#open.length === 0) {
      this.#open.push(container('resource-lists'));
      return;
    }
    const parent = this.#open[this.#open.length - 1] as Container | null;
    const k = ns === RESOURCE_LISTS_NS && parent !== null ? KINDS.indexOf(local as (typeof KINDS)[number]) : -1;
    if (k < 0 || parent === null) {
      this.#open.push(null);
      return;
    }
    const kind = parent.kinds[k] as Kind;
    const index = kind.count++;
    let value: string | undefined;
    for (let i = 0; i < attrs.count; i++) if (attrs.ns[i] === '' && attrs.local[i] === KEYS[k]) value = attrs.value[i] as string;
    if (value !== undefined) {
      if (kind.repeat === null && kind.values.has(value)) kind.repeat = { index, value };
      kind.values.add(value);
    }
    const v = value ?? '';
    if (local === 'entry-ref' && parent.badRef === null) parent.badRef = refFailure(() => checkRef(v));
    else if (local === 'external' && value !== undefined && parent.badAnchor === null) parent.badAnchor = refFailure(() => checkAnchor(v));
    this.#open.push(local === 'list' ? container(`${parent.path}/${step('list', index)}`) : null);
  }

  endElement(): undefined {
    const closed = this.#open.pop();
    if (closed === null || closed === undefined) return;
    let failure: Error | null = null;
    for (let k = 0; k < KINDS.length && failure === null; k++) {
      const kind = closed.kinds[k] as Kind;
      if (kind.repeat !== null) failure = uniquenessFailure(`${closed.path}/${step(KINDS[k] as string, kind.repeat.index)}/@${KEYS[k]}`, kind.repeat.value, (v) => kind.values.has(v));
    }
    failure ??= closed.badRef ?? closed.badAnchor ?? closed.child;
    const parent = this.#open[this.#open.length - 1];
    if (parent === undefined) this.failure = failure;
    else if (parent !== null) parent.child ??= failure;
  }

  text(): undefined {
    return undefined;
  }

  comment(): undefined {
    return undefined;
  }
}

function container(path: string): Container {
  return { path, kinds: KINDS.map(() => ({ count: 0, values: new Set<string>(), repeat: null })), badRef: null, badAnchor: null, child: null };
}

/** The ConstraintFailure `check` throws, or null. */
function refFailure(check: () => void): ConstraintFailure | null {
  try {
    check();
    return null;
  } catch (err) {
    if (err instanceof ConstraintFailure) return err;
    throw err;
  }
}

/**
 * The node selector of a located repeat, as `checkListConstraints` writes it
 * (`resource-lists/list[1]/entry[2]/@uri`); `undefined` when a step is outside the
 * resource-lists namespace (the walk words that one).
 */
function repeatedField(r: RepeatedKey): string | undefined {
  if (r.steps.some((s) => s.ns !== RESOURCE_LISTS_NS)) return undefined;
  return `${r.steps.map((s, i) => (i === 0 ? s.local : step(s.local, s.position - 1))).join('/')}/@${r.attribute}`;
}

/** `ref`: relative to the XCAP root, naming an element of a resource-lists document. */
function checkRef(ref: string): void {
  if (SCHEME.test(ref) || ref.startsWith('/')) {
    throw new ConstraintFailure(`entry-ref ${ref} must be a relative path reference from the XCAP root`);
  }
  if (!ref.startsWith('resource-lists/') || !ref.includes('/~~/')) {
    throw new ConstraintFailure(`entry-ref ${ref} must select an entry of a resource-lists document`);
  }
}

/** `anchor`: an absolute HTTP URI (of a list on this or another XCAP server). */
function checkAnchor(anchor: string): void {
  if (!/^https?:\/\/[^/]/i.test(anchor)) {
    throw new ConstraintFailure(`external anchor ${anchor} must be an absolute HTTP URI`);
  }
}

/**
 * Whether the §3.4.5 ref and anchor rules hold for the entry-ref and external elements in
 * `el` and below it (`shallow`: `el` alone). False sends the document to the full check,
 * which words the failure.
 */
export function refsHold(el: Element, shallow: boolean): boolean {
  const found = shallow ? [el] : [el, ...Array.from(el.getElementsByTagNameNS(RESOURCE_LISTS_NS, '*'))];
  try {
    for (const e of found) {
      if (e.namespaceURI !== RESOURCE_LISTS_NS) continue;
      if (e.localName === 'entry-ref') checkRef(e.getAttribute('ref') ?? '');
      else if (e.localName === 'external' && e.hasAttribute('anchor')) checkAnchor(e.getAttribute('anchor') as string);
    }
    return true;
  } catch (err) {
    if (err instanceof ConstraintFailure) return false;
    throw err;
  }
}

/**
 * The text to validate in lenient mode: `text` itself when every entry has a uri, else a
 * copy in which uri-less entries carry a placeholder (the caller's document is untouched).
 */
function withPlaceholderUris(doc: Document, text: string): string {
  const bare = Array.from(doc.getElementsByTagNameNS(RESOURCE_LISTS_NS, 'entry')).filter((e) => !e.hasAttribute('uri'));
  if (bare.length === 0) return text;
  const copy = doc.cloneNode(true) as Document;
  let n = 0;
  for (const entry of Array.from(copy.getElementsByTagNameNS(RESOURCE_LISTS_NS, 'entry'))) {
    // Distinct placeholders: the schema's uniqueness constraint must not see them as duplicates.
    if (!entry.hasAttribute('uri')) entry.setAttribute('uri', `${PLACEHOLDER_URI}-${++n}`);
  }
  return serialize(copy);
}

const PLACEHOLDER_URI = 'urn:x-xcap-bridge:entry-without-uri';

export const resourceLists: AppUsage = {
  auid: 'resource-lists',
  mimeType: 'application/resource-lists+xml',
  defaultNamespace: RESOURCE_LISTS_NS,
  namespaces: [RESOURCE_LISTS_NS],
  scopes: { global: true, users: true },

  validate(doc, ctx) {
    // An edit of a document known valid: the edited element (an element PUT: all of it; an
    // attribute write or a child's DELETE: its start tag and children), its siblings' keys
    // (the schema's xs:unique covers every §3.4.5 uniqueness rule) and its ref/anchor rules.
    // Anything doubtful gets the whole-document check below, which words the refusal.
    if (!ctx.lenient.has(ENTRY_WITHOUT_URI)) {
      const edit = schemaAcceptedEdit(schema, doc);
      if (edit !== undefined && refsHold(edit.edited, edit.shallow)) return;
    }
    // The root holds only <list> children (schema), so the list walk covers it too.
    const walk = () => checkListConstraints(rootElement(doc.dom()), 'resource-lists');
    // Whether the document holds entry-ref or external elements, when the scan said so.
    let refs: boolean | undefined;
    // Set once the walk's rules were checked from the text, without a DOM.
    let walked = false;
    // A document the fast path does not accept gets the walk anyway (a refusal's words, or
    // the ref/anchor rules): from the text and before libxml2, so a large one with many
    // repeats (libxml2 pays per repeat) costs a scan, not libxml2 and a DOM.
    const walkText = (): void => {
      const failure = listConstraintsOfText(doc.text);
      if (failure === undefined) return;
      walked = true;
      if (failure !== null) throw failure;
    };
    try {
      if (ctx.lenient.has(ENTRY_WITHOUT_URI)) schema.validate(withPlaceholderUris(doc.dom(), doc.text));
      // An edited DOM is checked as it is; only a doubtful one is validated from its text.
      else if (doc.parsed === undefined || schema.validateDom?.(doc.parsed) !== true) refs = schema.validate(doc.text, walkText);
    } catch (err) {
      // The schema's identity constraints reject duplicates: a repeat the schema check
      // located is named from its steps; otherwise the walk names the field and suggests
      // free values (uniqueness-failure) when that is what went wrong.
      if (err instanceof SchemaValidationError && !walked) {
        const r = err.repeated;
        const field = r === undefined ? undefined : repeatedField(r);
        if (r !== undefined && field !== undefined) throw uniquenessFailure(field, r.value, (v) => r.siblings.has(v));
        walk();
      }
      throw err;
    }
    // ref/anchor rules are beyond the schema; documents without those elements skip the walk.
    if (!walked && (refs ?? REF_OR_EXTERNAL.test(doc.text))) walk();
  },
};

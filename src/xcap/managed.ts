/**
 * Managed containers: top-level elements of a document (e.g. `<list name="directory">` in a
 * user's resource-lists `index`) that a pull sync binding owns. The binding keeps them a
 * projection of a remote store, so clients may read them but not edit them:
 *
 * - an element or attribute PUT/DELETE that would change a managed container (anything
 *   inside it, the container itself, an ancestor of it, or a new container of the same
 *   name) is refused with 409 `constraint-failure` naming the binding;
 * - a whole-document PUT keeps the client's other content as sent, but its managed
 *   containers are replaced by the stored ones (phones such as Jitsi and Snom PUT the whole
 *   document on every edit, carrying whatever copy of the directory they last fetched; the
 *   stale copy must neither revert the directory nor fail the PUT). Where the stored
 *   document has no such container yet, the incoming one is dropped: the next sync run
 *   fills it.
 *
 * - a whole-document PUT may be larger than `server.maxBodyBytes` by the size of the stored
 *   managed containers (`sizeOf`): the server itself serves them, so a phone must be able
 *   to send back what it fetched; the client's own content keeps the plain limit's worth
 *   of room, and since the incoming copy is replaced, the allowance never feeds itself.
 *
 * The XCAP service consults `ManagedLists.forKey()` once per write; a document with no
 * managed container costs that one Map lookup.
 */
import type { Document, Element, Node } from '@xmldom/xmldom';
import type { DocKey } from '../store/types.ts';
import { ConstraintFailure } from './errors.ts';
import type { NodeSelector } from './selector/parse.ts';
import { selectElement, selectUnique } from './selector/evaluate.ts';
import { serializedBytes } from './serializer.ts';

/** One managed container: a child of the root element picked by name and a name attribute. */
export interface ManagedContainer {
  /** Namespace of the root and the container (`urn:ietf:params:xml:ns:resource-lists`). */
  readonly namespace: string;
  /** Root element's local name (`resource-lists`). */
  readonly root: string;
  /** Container element's local name (`list`). */
  readonly element: string;
  /** Attribute naming the container (`name`) and its value (`directory`). */
  readonly nameAttr: string;
  readonly name: string;
  /** The sync binding that owns it, for error phrases. */
  readonly owner: string;
}

/** Which documents have managed containers. */
export interface ManagedLists {
  /** The managed containers of the document at `key`, or `undefined` when it has none. Cheap (hot path). */
  forKey(key: DocKey): ManagedDocument | undefined;
}

/** Where bound documents live: one global document, or the same path in every user's tree. */
export interface ManagedTarget {
  readonly auid: string;
  readonly scope: 'global' | 'users';
  readonly path: string;
}

/** Builds the lookup from (target, container) pairs; `undefined` when there are none. */
export function createManagedLists(entries: readonly { target: ManagedTarget; container: ManagedContainer }[]): ManagedLists | undefined {
  if (entries.length === 0) return undefined;
  const byTarget = new Map<string, ManagedContainer[]>();
  for (const { target, container } of entries) {
    const k = targetKey(target.auid, target.scope === 'global', target.path);
    const list = byTarget.get(k) ?? [];
    list.push(container);
    byTarget.set(k, list);
  }
  const docs = new Map([...byTarget].map(([k, cs]) => [k, new ManagedDocument(cs)] as const));
  return { forKey: (key) => docs.get(targetKey(key.auid, key.xui === null, key.path)) };
}

function targetKey(auid: string, global: boolean, path: string): string {
  return `${auid}\u0000${global ? 'g' : 'u'}\u0000${path}`;
}

/** The managed containers of one kind of document, and the two rules that protect them. */
export class ManagedDocument {
  readonly containers: readonly ManagedContainer[];

  constructor(containers: readonly ManagedContainer[]) {
    this.containers = containers;
  }

  /** The managed container elements present in `dom`, in document order. */
  locate(dom: Document): { element: Element; spec: ManagedContainer }[] {
    const out: { element: Element; spec: ManagedContainer }[] = [];
    const root = dom.documentElement;
    if (!root) return out;
    for (let n = root.firstChild; n; n = n.nextSibling) {
      if (n.nodeType !== 1) continue;
      const spec = this.containers.find((c) => isContainer(root, n as Element, c));
      if (spec) out.push({ element: n as Element, spec });
    }
    return out;
  }

  /** UTF-8 size of the managed containers in `dom` as served (what a client fetched of them). */
  sizeOf(dom: Document): number {
    let n = 0;
    for (const m of this.locate(dom)) n += serializedBytes(m.element);
    return n;
  }

  /**
   * Runs `edit` (an element/attribute PUT or DELETE addressed by `sel`) on `dom` unless it
   * would change a managed container.
   * @throws ConstraintFailure before the edit when the selector points into, at, or (for
   *   element operations) above a managed container; after it when the edit created,
   *   renamed or removed one (then `dom` is left edited: the caller must discard it).
   */
  guardEdit<T>(dom: Document, sel: NodeSelector, edit: () => T): T {
    const before = this.locate(dom);
    if (before.length > 0) {
      const target = selectElement(dom, sel);
      // An element PUT that inserts has no target yet: its parent is what it changes.
      const touched = target ?? (sel.terminal === null && sel.steps.length > 1 ? selectUnique(dom, sel.steps, sel.steps.length - 1) : null);
      if (touched) {
        for (const m of before) {
          // Attributes of an ancestor do not change the container; replacing or deleting the ancestor does.
          if (contains(m.element, touched) || (target !== null && sel.terminal === null && contains(target, m.element))) throw refusal(m.spec);
        }
      }
    }
    const result = edit();
    const after = this.locate(dom);
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const b = before[i];
      const a = after[i];
      if (a?.element !== b?.element) throw refusal((a ?? b)!.spec);
    }
    return result;
  }

  /**
   * Replaces the managed containers of `incoming` (a whole document a client PUT) with
   * those of `stored`: each takes the place of the first incoming one of its name, or goes
   * last when the client sent none; incoming containers the stored document lacks are
   * dropped. A document with another root element is left alone (the usage refuses it).
   */
  reproject(incoming: Document, stored: Document | undefined): void {
    const root = incoming.documentElement;
    if (!root) return;
    const storedFound = stored ? this.locate(stored) : [];
    for (const spec of this.containers) {
      if (!isRoot(root, spec)) continue;
      const [head, ...rest] = this.locate(incoming).filter((m) => m.spec === spec);
      for (const m of rest) root.removeChild(m.element);
      const keep = storedFound.find((m) => m.spec === spec);
      const copy = keep ? incoming.importNode(keep.element, true) : undefined;
      if (head && copy) root.replaceChild(copy, head.element);
      else if (head) root.removeChild(head.element);
      else if (copy) root.appendChild(copy);
    }
  }
}

function isRoot(root: Element, c: ManagedContainer): boolean {
  return root.localName === c.root && root.namespaceURI === c.namespace;
}

function isContainer(root: Element, el: Element, c: ManagedContainer): boolean {
  return isRoot(root, c) && el.localName === c.element && el.namespaceURI === c.namespace && el.getAttribute(c.nameAttr) === c.name;
}

/** Whether `inner` is `outer` or below it. */
function contains(outer: Node, inner: Node): boolean {
  for (let n: Node | null = inner; n; n = n.parentNode) if (n === outer) return true;
  return false;
}

function refusal(spec: ManagedContainer): ConstraintFailure {
  return new ConstraintFailure(`the ${spec.element} "${spec.name}" is managed by sync binding "${spec.owner}" and is read-only`);
}

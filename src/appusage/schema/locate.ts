/**
 * Where a repeated xs:unique value is, found by a second scan of the text instead of a DOM:
 * the fast path knows the element carrying the repeat only by its ordinal (its place in
 * document order); one more pass of the scanner turns that into positional steps (XCAP
 * node-selector positions, 1-based among same-named siblings) and collects the values the
 * key attribute has among those siblings, so a usage can word a uniqueness-failure with a
 * field and free values without parsing the document into a DOM (xmldom costs several
 * times a scan).
 */
import { scan } from './scanner.ts';
import type { Attributes, Verdict, XmlSink } from './scanner.ts';

/** An expanded name. */
export interface Name {
  readonly ns: string;
  readonly local: string;
}

/** One step from the root to the element: its expanded name and position among same-named siblings. */
export interface LocatedStep extends Name {
  readonly position: number;
}

/** The element with the repeated value, and the key values of its same-named siblings (itself included). */
export interface Located {
  readonly steps: readonly LocatedStep[];
  readonly siblings: ReadonlySet<string>;
}

/**
 * Locates the `ordinal`-th element (1-based, document order) of `text`, an `element`, and
 * reads the values of attribute `attr` among the `element` children of its parent.
 * `undefined` when the text does not scan that far (the caller then falls back to a DOM).
 */
export function locateElement(text: string, ordinal: number, element: Name, attr: Name): Located | undefined {
  const sink = new Locator(ordinal, element, attr);
  scan(text, sink);
  return sink.result();
}

interface Open extends LocatedStep {
  /** Children seen so far, by expanded name; created on the first child. */
  counts: Map<string, number> | null;
  /** `attr` values of its `element` children so far; created on the first. */
  values: Set<string> | null;
}

class Locator implements XmlSink {
  readonly wantsText = false;
  readonly #ordinal: number;
  readonly #element: Name;
  readonly #attr: Name;
  readonly #open: Open[] = [];
  #seen = 0;
  #steps: LocatedStep[] | null = null;
  #siblings: Set<string> | null = null;
  #done = false;

  constructor(ordinal: number, element: Name, attr: Name) {
    this.#ordinal = ordinal;
    this.#element = element;
    this.#attr = attr;
  }

  result(): Located | undefined {
    return this.#done && this.#steps !== null && this.#siblings !== null ? { steps: this.#steps, siblings: this.#siblings } : undefined;
  }

  startElement(ns: string, local: string, attrs: Attributes): Verdict | undefined {
    const parent = this.#open.at(-1);
    let position = 1;
    if (parent !== undefined) {
      const key = `${ns} ${local}`;
      const counts = (parent.counts ??= new Map());
      position = (counts.get(key) ?? 0) + 1;
      counts.set(key, position);
      if (ns === this.#element.ns && local === this.#element.local) {
        for (let i = 0; i < attrs.count; i++) {
          if (attrs.local[i] === this.#attr.local && attrs.ns[i] === this.#attr.ns) (parent.values ??= new Set()).add(attrs.value[i] as string);
        }
      }
    }
    this.#open.push({ ns, local, position, counts: null, values: null });
    if (++this.#seen === this.#ordinal && parent !== undefined) {
      this.#steps = this.#open.map((o) => ({ ns: o.ns, local: o.local, position: o.position }));
      this.#siblings = parent.values ??= new Set();
    }
    return undefined;
  }

  text(): Verdict | undefined {
    return undefined;
  }

  comment(): Verdict | undefined {
    return undefined;
  }

  endElement(): Verdict | undefined {
    const closed = this.#open.pop();
    // The parent of the target closed: every sibling has been read.
    if (this.#steps !== null && closed !== undefined && closed.values === this.#siblings && this.#open.length === this.#steps.length - 2) {
      this.#done = true;
      return 'reject';
    }
    return undefined;
  }
}

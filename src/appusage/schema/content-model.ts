/**
 * The compiled form of an XML Schema that the fast validator walks: element and attribute
 * declarations, complex types, conservative simple-type checks, and content models as
 * lazily determinized Glushkov automata.
 *
 * Every check here answers "certainly valid for libxml2" (true) or "not sure" (false):
 * a false only sends the document to libxml2, so the checks may be stricter than XSD,
 * never looser.
 */

export interface SimpleType {
  /** True when libxml2 certainly accepts `value` (the element text or normalized attribute value). */
  check(value: string): boolean;
  /** Values compare as strings (whitespace collapsed) in identity constraints. */
  readonly stringKey: boolean;
  /** xs:ID: the value must also be unique in the document. */
  readonly id: boolean;
}

/** A namespace constraint of xs:any / xs:anyAttribute with its processContents. */
export interface Wildcard {
  allows(ns: string): boolean;
  readonly process: 'strict' | 'lax' | 'skip';
}

export interface AttributeDecl {
  readonly ns: string;
  readonly local: string;
  readonly type: SimpleType;
  readonly required: boolean;
}

/** xs:unique with a one-step child selector and one attribute field. */
export interface UniqueConstraint {
  readonly ns: string;
  readonly local: string;
  readonly fieldNs: string;
  readonly fieldLocal: string;
}

export interface ElementDecl {
  readonly ns: string;
  readonly local: string;
  /** 'any' is xs:anyType: content and attributes are assessed laxly. */
  type: ComplexType | SimpleType | 'any';
  readonly uniques: readonly UniqueConstraint[];
  /** Declared nillable: only then may an instance carry xsi:nil. */
  readonly nillable: boolean;
}

/** A particle tree as written in the schema (before occurrence expansion). */
export type Particle =
  | { readonly kind: 'element'; readonly decl: ElementDecl; readonly min: number; readonly max: number }
  | { readonly kind: 'any'; readonly wildcard: Wildcard; readonly min: number; readonly max: number }
  | { readonly kind: 'sequence' | 'choice'; readonly items: readonly Particle[]; readonly min: number; readonly max: number };

export interface ComplexType {
  /** 'empty' admits no character data at all here (libxml2's whitespace rules are left to it). */
  content: 'empty' | 'elements' | 'mixed' | 'simple';
  particle: Particle | null;
  model: ContentModel | null;
  simple: SimpleType | null;
  attrs: AttributeDecl[];
  requiredCount: number;
  anyAttribute: Wildcard | null;
  /** False while an extension waits for its base. */
  ready: boolean;
}

export function isComplex(t: ComplexType | SimpleType | 'any'): t is ComplexType {
  return t !== 'any' && 'content' in t;
}

/** Thrown by the compiler for a construct the fast path does not support. */
export class Unsupported extends Error {}

// Occurrence counts are expanded into copies; big finite counts would blow the automaton up.
const MAX_EXPANSION = 32;

type Target = ElementDecl | Wildcard;

export interface Transition {
  readonly state: ModelState;
  readonly target: Target;
}

export interface ModelState {
  readonly accepting: boolean;
  /** The last name looked up here and its answer: lists repeat the same child. */
  lastNs: string;
  lastLocal: string;
  last: Transition | null;
  /** Positions that may come next. */
  readonly candidates: readonly number[];
  /** ns -> local -> transition (null: no child of that name may come here; undefined target: ambiguous). */
  readonly next: Map<string, Map<string, Transition | null>>;
}

const MAX_CACHED_NAMES = 128;

/** A content model: the Glushkov automaton of the particle, determinized on demand. */
export class ContentModel {
  readonly start: ModelState;
  readonly #targets: Target[] = [];
  readonly #follow: number[][] = [];
  readonly #last = new Set<number>();
  readonly #states = new Map<string, ModelState>();
  #cached = 0;

  constructor(particle: Particle) {
    const g = this.#build(particle);
    for (const p of g.last) this.#last.add(p);
    this.start = newState(g.nullable, g.first);
    if (this.#targets.length > 4096) throw new Unsupported('content model too large');
  }

  /** The state after a child element (ns, local) in `state`, or null when it may not come here. */
  step(state: ModelState, ns: string, local: string): Transition | null {
    if (state.lastLocal === local && state.lastNs === ns) return state.last;
    const t = this.#lookup(state, ns, local);
    state.lastNs = ns;
    state.lastLocal = local;
    state.last = t;
    return t;
  }

  #lookup(state: ModelState, ns: string, local: string): Transition | null {
    let byLocal = state.next.get(ns);
    const known = byLocal?.get(local);
    if (known !== undefined) return known;
    const t = this.#compute(state, ns, local);
    if (this.#cached < MAX_CACHED_NAMES) {
      if (byLocal === undefined) {
        byLocal = new Map();
        state.next.set(ns, byLocal);
      }
      byLocal.set(local, t);
      this.#cached++;
    }
    return t;
  }

  #compute(state: ModelState, ns: string, local: string): Transition | null {
    const matched: number[] = [];
    let target: Target | undefined;
    for (const p of state.candidates) {
      const t = this.#targets[p] as Target;
      const hit = 'allows' in t ? t.allows(ns) : t.ns === ns && t.local === local;
      if (!hit) continue;
      // Two different particles matching is a UPA violation; libxml2 would not have compiled it.
      if (target !== undefined && target !== t) throw new Unsupported('ambiguous content model');
      target = t;
      matched.push(p);
    }
    if (target === undefined) return null;
    return { state: this.#state(matched), target };
  }

  #state(positions: number[]): ModelState {
    positions.sort((a, b) => a - b);
    const key = positions.join(',');
    let s = this.#states.get(key);
    if (s === undefined) {
      const cand = new Set<number>();
      let accepting = false;
      for (const p of positions) {
        if (this.#last.has(p)) accepting = true;
        for (const f of this.#follow[p] as number[]) cand.add(f);
      }
      s = newState(accepting, [...cand]);
      this.#states.set(key, s);
    }
    return s;
  }

  /** Glushkov sets of one particle, with occurrences expanded into fresh positions. */
  #build(p: Particle): Glushkov {
    if (p.max === 0) return EMPTY;
    if (p.min > MAX_EXPANSION || (p.max !== Infinity && p.max > MAX_EXPANSION)) throw new Unsupported('occurrence count too large');
    const parts: Glushkov[] = [];
    for (let i = 0; i < p.min; i++) parts.push(this.#term(p));
    if (p.max === Infinity) parts.push(this.#star(this.#term(p)));
    else for (let i = p.min; i < p.max; i++) parts.push(optional(this.#term(p)));
    return parts.reduce((a, b) => this.#seq(a, b), EMPTY);
  }

  #term(p: Particle): Glushkov {
    if (p.kind === 'element' || p.kind === 'any') {
      const pos = this.#targets.length;
      this.#targets.push(p.kind === 'element' ? p.decl : p.wildcard);
      this.#follow.push([]);
      return { nullable: false, first: [pos], last: [pos] };
    }
    const items = p.items.map((i) => this.#build(i));
    if (p.kind === 'sequence') return items.reduce((a, b) => this.#seq(a, b), EMPTY);
    return {
      nullable: items.length === 0 || items.some((i) => i.nullable),
      first: items.flatMap((i) => i.first),
      last: items.flatMap((i) => i.last),
    };
  }

  #seq(a: Glushkov, b: Glushkov): Glushkov {
    for (const l of a.last) (this.#follow[l] as number[]).push(...b.first);
    return {
      nullable: a.nullable && b.nullable,
      first: a.nullable ? [...a.first, ...b.first] : a.first,
      last: b.nullable ? [...a.last, ...b.last] : b.last,
    };
  }

  #star(a: Glushkov): Glushkov {
    for (const l of a.last) (this.#follow[l] as number[]).push(...a.first);
    return { nullable: true, first: a.first, last: a.last };
  }
}

interface Glushkov {
  readonly nullable: boolean;
  readonly first: number[];
  readonly last: number[];
}

const EMPTY: Glushkov = { nullable: true, first: [], last: [] };

function newState(accepting: boolean, candidates: number[]): ModelState {
  // lastLocal '' never matches: element names are never empty.
  return { accepting, candidates, next: new Map(), lastNs: '', lastLocal: '', last: null };
}

function optional(a: Glushkov): Glushkov {
  return { nullable: true, first: a.first, last: a.last };
}

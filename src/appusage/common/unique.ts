/**
 * Uniqueness constraints (RFC 4825 §11.2 uniqueness-failure) shared by the usages: finds the
 * first repeated attribute value among sibling elements and raises the failure with a
 * positional node selector for the field and a few values that are still free.
 */
import type { Element } from '@xmldom/xmldom';
import { UniquenessFailure } from '../../xcap/errors.ts';

/**
 * Throws `UniquenessFailure` if two of `elements` carry the same `attr` value. Elements
 * without the attribute are ignored. `stepOf(i)` returns the selector of `elements[i]`
 * (e.g. `resource-lists/list[2]/entry[3]`); the field is that step plus `/@attr`.
 * `taken`, when given, widens what the suggested alternatives must avoid (values used
 * elsewhere, e.g. other users' documents).
 */
export function requireUniqueAttribute(
  elements: readonly Element[],
  attr: string,
  stepOf: (index: number) => string,
  taken?: ReadonlySet<string>,
): void {
  const all = new Set<string>();
  for (const el of elements) if (el.hasAttribute(attr)) all.add(el.getAttribute(attr) as string);
  if (all.size === elements.length) return; // fast path: nothing missing, nothing repeated
  const seen = new Set<string>();
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i] as Element;
    if (!el.hasAttribute(attr)) continue;
    const value = el.getAttribute(attr) as string;
    if (seen.has(value)) {
      throw uniquenessFailure(`${stepOf(i)}/@${attr}`, value, (v) => all.has(v) || (taken?.has(v) ?? false));
    }
    seen.add(value);
  }
}

/** Builds the failure for `field` holding `value`, suggesting alternatives not `isTaken`. */
export function uniquenessFailure(field: string, value: string, isTaken: (v: string) => boolean): UniquenessFailure {
  return new UniquenessFailure([{ field, altValues: altValues(value, isTaken) }], `${value} is already in use`);
}

/**
 * Up to `count` free variants of `value`: the user part of a `scheme:user@host` URI gets a
 * numeric suffix (`sip:friends-1@example.com`), anything else gets it at the end.
 */
export function altValues(value: string, isTaken: (v: string) => boolean, count = 2): string[] {
  const out: string[] = [];
  for (let n = 1; out.length < count && n < 1000; n++) {
    const v = valueVariant(value, n);
    if (!isTaken(v)) out.push(v);
  }
  return out;
}

/** The `n`th variant `altValues` considers: `sip:friends-<n>@example.com`, or `<value>-<n>`. */
export function valueVariant(value: string, n: number): string {
  const m = /^([a-z][a-z0-9+.-]*:)([^@]+)(@.*)$/i.exec(value);
  return m ? `${m[1]}${m[2]}-${n}${m[3]}` : `${value}-${n}`;
}

/** `name[n]`: XCAP positional step (1-based) among same-named siblings. */
export function step(name: string, index: number): string {
  return `${name}[${index + 1}]`;
}

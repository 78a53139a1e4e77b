/**
 * Conservative checks for the XSD built-in simple types our schemas use, and the derived
 * forms the compiler supports (enumerations, unions). A check returns true only for
 * values libxml2 certainly accepts; odd spellings (surrounding whitespace, exotic URI
 * syntax) return false and are left to libxml2.
 */
import type { SimpleType } from './content-model.ts';
import { isPlainUriReference } from './uri.ts';

function type(check: (v: string) => boolean, stringKey = false, id = false): SimpleType {
  return { check, stringKey, id };
}

const ALWAYS = type(() => true, true);
/** Any type we do not model: every value is left to libxml2. */
export const UNKNOWN: SimpleType = type(() => false);

const NCNAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const LANGUAGE = /^[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*$/;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2}))?$/;

function dateTime(v: string): boolean {
  const m = DATE_TIME.exec(v);
  if (m === null) return false;
  const [y, mo, d, h, mi, s, tzh, tzm] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) return false;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || (tzh ?? 0) > 13 || (tzm ?? 0) > 59) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] as number;
  return d <= days;
}

/** The built-in types by local name in the XML Schema namespace; others are UNKNOWN. */
export const BUILT_IN: ReadonlyMap<string, SimpleType> = new Map([
  ['string', ALWAYS],
  ['anySimpleType', type(() => true)],
  // A token is checked as already collapsed: no tab/LF/CR, no leading, trailing or double space.
  ['token', type((v) => !/[\t\n\r]|^ | $| {2}/.test(v), true)],
  ['anyURI', type(isPlainUriReference, true)],
  ['boolean', type((v) => v === 'true' || v === 'false' || v === '1' || v === '0')],
  ['NCName', type((v) => NCNAME.test(v), true)],
  ['ID', type((v) => NCNAME.test(v), true, true)],
  ['language', type((v) => LANGUAGE.test(v), true)],
  ['nonNegativeInteger', type((v) => /^[0-9]{1,18}$/.test(v))],
  ['positiveInteger', type((v) => /^0*[1-9][0-9]{0,17}$/.test(v))],
  ['integer', type((v) => /^-?[0-9]{1,18}$/.test(v))],
  ['int', type((v) => /^-?[0-9]{1,9}$/.test(v))],
  ['dateTime', type(dateTime)],
]);

/** Restriction by enumeration: the value must be one of `values` as written, and valid for the base. */
export function enumeration(base: SimpleType, values: readonly string[]): SimpleType {
  const set = new Set(values);
  return type((v) => set.has(v) && base.check(v), base.stringKey);
}

/** A union: valid when some member accepts the value. */
export function union(members: readonly SimpleType[]): SimpleType {
  return type((v) => members.some((m) => m.check(v)));
}

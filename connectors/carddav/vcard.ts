/**
 * vCard 3.0 / 4.0 (RFC 2426, RFC 6350) ↔ item fields, with ical.js.
 *
 * Reading: `uri` from the first configured source the card has (IMPP sip:, X-SIP, TEL as
 * `tel:` + E.164, EMAIL as `mailto:`); `display-name` from FN, else from N; each extra
 * field from its property (mapping.fields). A card without any uri source gives fields
 * without `uri` (the connector skips and reports it).
 *
 * Writing edits the parsed card in place and touches only the properties the owned fields
 * map; a property whose value already reads as the field's value is left as written (a
 * number keeps its spaces). Everything else — PHOTO, ADR, NOTE, X- properties, parameters,
 * `item1.` groups, VERSION — goes back as it came. ical.js keeps unknown properties and
 * folds lines by UTF-8 octets.
 */
import ICAL from 'ical.js';
import type { CountryCode } from 'libphonenumber-js';
import { e164 } from '../phone.ts';
import type { ItemFields } from '../types.ts';
import type { CarddavMapping, UriSource } from './config.ts';

type Component = InstanceType<typeof ICAL.Component>;
type Property = InstanceType<typeof ICAL.Property>;

/** A parsed card, or why it is skipped. */
export type ParsedCard = { readonly card: Component; readonly uid: string } | { readonly skip: string };

/** Which uri source a scheme is written to when the card has none of that kind. */
function sourceForScheme(uri: string, order: readonly UriSource[]): UriSource {
  const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
  if (scheme === 'tel') return 'tel';
  if (scheme === 'mailto') return 'email';
  if (scheme === 'sip' || scheme === 'sips') return order.find((s) => s === 'impp' || s === 'x-sip') ?? 'impp';
  return 'impp';
}

export class CardCodec {
  readonly #m: CarddavMapping;
  readonly #country: CountryCode | undefined;
  /** Per property name, the TYPE values typed field specs claim (an untyped spec skips them). */
  readonly #claimed = new Map<string, Set<string>>();

  constructor(mapping: CarddavMapping) {
    this.#m = mapping;
    this.#country = mapping.defaultCountry as CountryCode | undefined;
    for (const spec of Object.values(mapping.fields)) {
      const [name, type] = splitSpec(spec);
      if (type === undefined) continue;
      const set = this.#claimed.get(name) ?? new Set<string>();
      set.add(type);
      this.#claimed.set(name, set);
    }
  }

  /** Parses one card. vCard 2.1, text that is not one vCard, and a card without UID are skipped with the reason. */
  parse(text: string): ParsedCard {
    if (/^VERSION:\s*2\.1\s*$/im.test(text)) return { skip: 'vCard 2.1 is not supported (only 3.0 and 4.0)' };
    let card: Component;
    try {
      const parsed: unknown = ICAL.parse(text);
      if (!Array.isArray(parsed) || parsed[0] !== 'vcard') return { skip: 'not one vCard' };
      card = new ICAL.Component(parsed as unknown[]);
    } catch (err) {
      return { skip: `malformed vCard: ${(err as Error).message}` };
    }
    const uid = str(card.getFirstPropertyValue('uid'))?.trim();
    if (!uid) return { skip: 'the vCard has no UID' };
    try {
      // ical.js decodes values when first read: read the mapped ones now, so a bad one skips the card here.
      this.fields(card);
    } catch (err) {
      return { skip: `malformed vCard: ${(err as Error).message}` };
    }
    return { card, uid };
  }

  /** The card's fields (no empty values). */
  fields(card: Component): ItemFields {
    const out: Record<string, string> = {};
    const uri = this.#uri(card)?.uri;
    if (uri) out.uri = uri;
    const name = displayName(card);
    if (name) out['display-name'] = name;
    for (const [field, spec] of Object.entries(this.#m.fields)) {
      const p = this.#pick(card, spec);
      const v = p ? this.#valueOf(p) : undefined;
      if (v) out[field] = v;
    }
    return out;
  }

  /** The card's REV (last change) as ms since the epoch, when it has a readable one (for `newest-wins`). */
  modified(card: Component): number | undefined {
    try {
      const rev: unknown = card.getFirstPropertyValue('rev');
      const date = rev && typeof (rev as { toJSDate?: unknown }).toJSDate === 'function' ? (rev as { toJSDate(): Date }).toJSDate() : new Date(str(rev) ?? '');
      const t = date.getTime();
      return Number.isFinite(t) ? t : undefined;
    } catch {
      // ical.js decodes typed values when first read and throws on a REV it cannot read: no time then.
      return undefined;
    }
  }

  /** A new card of `version` with this UID showing `fields`. */
  create(uid: string, fields: ItemFields, version: '3.0' | '4.0'): string {
    const card = new ICAL.Component(['vcard', [['version', {}, 'text', version], ['uid', {}, 'text', uid]], []]);
    this.edit(card, fields, Object.keys(fields));
    return serialize(card);
  }

  /**
   * Makes `card` show `fields` for the `owned` names: an owned name missing from `fields`
   * is cleared (its property removed; `uri`, the key, is never cleared). Returns whether
   * anything changed.
   */
  edit(card: Component, fields: ItemFields, owned: readonly string[]): boolean {
    let changed = false;
    const own = new Set(owned);
    if (own.has('display-name')) changed = this.#setName(card, fields['display-name']) || changed;
    if (own.has('uri') && fields.uri) changed = this.#setUri(card, fields.uri) || changed;
    for (const [field, spec] of Object.entries(this.#m.fields)) {
      if (own.has(field)) changed = this.#setField(card, spec, fields[field]) || changed;
    }
    return changed;
  }

  // ---- uri ---------------------------------------------------------------------------

  /** The uri the card shows and the property it comes from. */
  #uri(card: Component): { uri: string; source: UriSource; prop: Property } | undefined {
    for (const source of this.#m.uri) {
      for (const prop of card.getAllProperties(source)) {
        const uri = this.#uriOf(source, prop);
        if (uri) return { uri, source, prop };
      }
    }
    return undefined;
  }

  #uriOf(source: UriSource, prop: Property): string | undefined {
    const v = str(prop.getFirstValue())?.trim();
    if (!v) return undefined;
    switch (source) {
      case 'impp':
        return /^sips?:/i.test(v) ? v : undefined;
      case 'x-sip':
        return /^sips?:/i.test(v) ? v : `sip:${v}`;
      case 'tel': {
        const n = e164(v.replace(/^tel:/i, ''), this.#country);
        return n ? `tel:${n}` : undefined;
      }
      case 'email':
        return `mailto:${v.replace(/^mailto:/i, '')}`;
    }
  }

  #setUri(card: Component, uri: string): boolean {
    const target = sourceForScheme(uri, this.#m.uri);
    let changed = false;
    // A source tried before the target that still yields another uri would hide the new one: the phone replaced it.
    for (let cur = this.#uri(card); cur && cur.uri !== uri; cur = this.#uri(card)) {
      if (cur.source === target) {
        cur.prop.setValue(this.#written(target, uri, cur.prop));
        return true;
      }
      if (this.#m.uri.indexOf(cur.source) > this.#m.uri.indexOf(target)) break;
      card.removeProperty(cur.prop);
      changed = true;
    }
    if (this.#uri(card)?.uri === uri) return changed;
    const prop = new ICAL.Property(target, card);
    prop.setValue(this.#written(target, uri, prop));
    card.addProperty(prop);
    return true;
  }

  /** The property value that makes `source` read as `uri`. */
  #written(source: UriSource, uri: string, prop: Property): string {
    switch (source) {
      case 'tel':
        return isTelUri(prop) ? uri : uri.replace(/^tel:/i, '');
      case 'email':
        return uri.replace(/^mailto:/i, '');
      default:
        return uri;
    }
  }

  // ---- display-name and extra fields ----------------------------------------------------

  #setName(card: Component, name: string | undefined): boolean {
    if (displayName(card) === name) return false;
    const fn = card.getFirstProperty('fn');
    if (name === undefined) {
      if (fn) card.removeProperty(fn);
      return fn !== null;
    }
    if (fn) fn.setValue(name);
    else card.addPropertyWithValue('fn', name);
    // vCard 3.0 requires N; a card made here gets one from the name.
    if (!card.getFirstProperty('n')) {
      const words = name.trim().split(/\s+/);
      const family = words.length > 1 ? (words.pop() as string) : '';
      card.addPropertyWithValue('n', [family, words.join(' '), '', '', '']);
    }
    return true;
  }

  #setField(card: Component, spec: string, value: string | undefined): boolean {
    const prop = this.#pick(card, spec);
    const current = prop ? this.#valueOf(prop) : undefined;
    if (current === value) return false;
    const [name, type] = splitSpec(spec);
    if (value === undefined) {
      if (prop) card.removeProperty(prop);
      return prop !== undefined;
    }
    if (prop) {
      const v: unknown = prop.getFirstValue();
      if (Array.isArray(v)) prop.setValue([value, ...v.slice(1)]);
      else prop.setValue(name === 'tel' && isTelUri(prop) ? `tel:${value}` : value);
      return true;
    }
    const created = new ICAL.Property(name, card);
    if (type !== undefined) created.setParameter('type', type.toUpperCase());
    created.setValue(name === 'org' ? [value] : value);
    card.addProperty(created);
    return true;
  }

  /** The property a field spec reads: the first of its name carrying its TYPE, or for an untyped spec the first no typed spec claims. */
  #pick(card: Component, spec: string): Property | undefined {
    const [name, type] = splitSpec(spec);
    const claimed = this.#claimed.get(name);
    return card.getAllProperties(name).find((p) => {
      const types = typesOf(p);
      return type !== undefined ? types.includes(type) : !types.some((t) => claimed?.has(t));
    });
  }

  #valueOf(prop: Property): string | undefined {
    const raw: unknown = prop.getFirstValue();
    const v = (Array.isArray(raw) ? str(raw[0]) : str(raw))?.trim();
    if (!v) return undefined;
    if (prop.name === 'tel') {
      const bare = v.replace(/^tel:/i, '');
      return e164(bare, this.#country) ?? bare;
    }
    return v;
  }
}

/** FN, else the name parts of N (prefix given additional family suffix). */
function displayName(card: Component): string | undefined {
  const fn = str(card.getFirstPropertyValue('fn'))?.trim();
  if (fn) return fn;
  const n: unknown = card.getFirstPropertyValue('n');
  if (!Array.isArray(n)) return str(n)?.trim() || undefined;
  const [family, given, additional, prefix, suffix] = n.map((x) => (Array.isArray(x) ? x.join(' ') : str(x) ?? ''));
  const name = [prefix, given, additional, family, suffix].filter((x) => x && x.trim() !== '').join(' ');
  return name || undefined;
}

export function serialize(card: Component): string {
  const text = card.toString();
  return text.endsWith('\r\n') ? text : `${text}\r\n`;
}

/** A TEL written as a `tel:` URI (vCard 4.0's default form) stays one. */
function isTelUri(prop: Property): boolean {
  return /^tel:/i.test(str(prop.getFirstValue()) ?? '') || prop.getParameter('value') === 'uri';
}

function splitSpec(spec: string): [string, string | undefined] {
  const dot = spec.indexOf('.');
  return dot < 0 ? [spec.toLowerCase(), undefined] : [spec.slice(0, dot).toLowerCase(), spec.slice(dot + 1).toLowerCase()];
}

/** Lower-cased TYPE values of a property (`TYPE=CELL,VOICE`, repeated TYPE, 4.0 lists alike). */
function typesOf(p: Property): string[] {
  const raw: unknown = p.getParameter('type');
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  return list.flatMap((t) => String(t).split(',')).map((t) => t.trim().toLowerCase());
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return undefined;
  return String(v);
}

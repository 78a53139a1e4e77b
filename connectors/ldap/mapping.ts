/**
 * Entry ↔ item fields. Reading: `uri` from the first template whose placeholders are all
 * present (phone attributes normalized to E.164 first, duplicates collapsed),
 * `display-name` from displayName, else cn, else givenName + sn, and the configured extra
 * fields. Writing: a new entry from fields, or the smallest edit of an existing entry that
 * makes it show the written fields. Pure functions of the compiled config.
 */
import type { CountryCode } from 'libphonenumber-js';
import { e164 } from '../phone.ts';
import { PLACEHOLDER, type LdapMapping } from './config.ts';

/** Attribute values of one entry by lower-cased attribute name, as text. */
export type EntryValues = ReadonlyMap<string, readonly string[]>;

/** Attribute values by attribute name; in an edit, an empty array removes the attribute. */
export type EntryAttributes = Record<string, string[]>;

interface TemplatePart {
  readonly literal: string;
  /** Placeholder after the literal (absent for the tail). */
  readonly name?: string;
}

interface CompiledTemplate {
  /** The template as configured. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Attribute placeholders (lower-cased), constants excluded. */
  readonly attributes: readonly string[];
  /** Reverse matcher for write-back: one capture group per attribute placeholder. */
  readonly reverse: RegExp;
}

/** Characters kept as they are in a URI user part (RFC 3261 unreserved + user-unreserved). */
const URI_SAFE = /[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/gu;

function uriEscape(value: string): string {
  return value.replace(URI_SAFE, (ch) => encodeURIComponent(ch));
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const DISPLAY_NAME = 'display-name';
export const URI = 'uri';

export class EntryMapper {
  readonly #templates: readonly CompiledTemplate[];
  readonly #constants: ReadonlyMap<string, string>;
  readonly #phones: ReadonlySet<string>;
  readonly #country: CountryCode | undefined;
  readonly #fields: readonly (readonly [field: string, attribute: string])[];
  /** Attributes a full read must request (original spelling). */
  readonly readAttributes: readonly string[];
  /** Attributes that decide whether an entry maps at all (for id-only listings). */
  readonly uriAttributes: readonly string[];

  constructor(mapping: LdapMapping) {
    this.#constants = new Map(Object.entries(mapping.constants));
    this.#phones = new Set(mapping.phoneAttributes.map((a) => a.toLowerCase()));
    this.#country = mapping.defaultCountry as CountryCode | undefined;
    this.#fields = Object.entries(mapping.fields);
    this.#templates = mapping.uri.map((t) => this.#compile(t));
    const templateAttrs = [...new Set(this.#templates.flatMap((t) => t.attributes))];
    this.uriAttributes = templateAttrs;
    this.readAttributes = [...new Set([...templateAttrs, 'displayName', 'cn', 'givenName', 'sn', ...this.#fields.map(([, a]) => a)])];
  }

  #compile(template: string): CompiledTemplate {
    const parts: TemplatePart[] = [];
    let last = 0;
    let reverse = '^';
    const attributes: string[] = [];
    for (const m of template.matchAll(PLACEHOLDER)) {
      const literal = template.slice(last, m.index);
      const name = m[1] as string;
      parts.push({ literal, name });
      reverse += regexEscape(literal);
      const constant = this.#constants.get(name);
      if (constant !== undefined) reverse += regexEscape(uriEscape(constant));
      else {
        attributes.push(name);
        reverse += '(.+?)';
      }
      last = m.index + m[0].length;
    }
    parts.push({ literal: template.slice(last) });
    return { source: template, parts, attributes, reverse: new RegExp(`${reverse}${regexEscape(template.slice(last))}$`, 'u') };
  }

  /** E.164 form of a phone number, or undefined when it cannot be read as one. */
  normalizePhone(value: string): string | undefined {
    return e164(value, this.#country);
  }

  /**
   * What one raw value of `attribute` reads as: trimmed, phone numbers in E.164; undefined
   * when empty, or when `strict` and a phone value is not a number.
   */
  #form(attribute: string, raw: string, strict: boolean): string | undefined {
    const trimmed = raw.trim();
    if (trimmed === '') return undefined;
    if (!this.#phones.has(attribute.toLowerCase())) return trimmed;
    return this.normalizePhone(trimmed) ?? (strict ? undefined : trimmed);
  }

  /**
   * Distinct values of an attribute; phone attributes normalized to E.164 (values that
   * are not phone numbers dropped when `strict`, kept trimmed otherwise).
   */
  values(entry: EntryValues, attribute: string, strict: boolean): string[] {
    const out = new Set<string>();
    for (const v of entry.get(attribute.toLowerCase()) ?? []) {
      const value = this.#form(attribute, v, strict);
      if (value !== undefined) out.add(value);
    }
    return [...out];
  }

  /** The entry's uri, or undefined when no template can be filled (the entry is skipped). */
  uri(entry: EntryValues): string | undefined {
    return this.#fill(entry)?.uri;
  }

  /** The uri and the template that made it: the first whose placeholders all have a value. */
  #fill(entry: EntryValues): { uri: string; template: CompiledTemplate } | undefined {
    next: for (const t of this.#templates) {
      let out = '';
      for (const part of t.parts) {
        out += part.literal;
        if (part.name === undefined) continue;
        const value = this.#placeholder(entry, part.name);
        if (value === undefined) continue next;
        out += uriEscape(value);
      }
      return { uri: out, template: t };
    }
    return undefined;
  }

  /** Why `uri(entry)` found nothing: each template with the placeholders the entry has no value for. */
  unfilled(entry: EntryValues): string {
    return this.#templates
      .map((t) => {
        const lacking = t.parts.flatMap((p) => (p.name !== undefined && this.#placeholder(entry, p.name) === undefined ? [`{${p.name}}`] : []));
        return `${t.source} has no value for ${[...new Set(lacking)].join(', ')}`;
      })
      .join('; ');
  }

  #placeholder(entry: EntryValues, name: string): string | undefined {
    return this.#constants.get(name) ?? this.values(entry, name, true)[0];
  }

  /** displayName, else cn, else givenName + sn. */
  displayName(entry: EntryValues): string | undefined {
    const first = (a: string) => this.values(entry, a, false)[0];
    const direct = first('displayName') ?? first('cn');
    if (direct !== undefined) return direct;
    const joined = [first('givenName'), first('sn')].filter((v) => v !== undefined).join(' ');
    return joined === '' ? undefined : joined;
  }

  /** Item fields of an entry, or undefined when it has no mappable uri. */
  toFields(entry: EntryValues): Record<string, string> | undefined {
    const uri = this.uri(entry);
    if (uri === undefined) return undefined;
    const fields: Record<string, string> = { [URI]: uri };
    const name = this.displayName(entry);
    if (name !== undefined) fields[DISPLAY_NAME] = name;
    for (const [field, attribute] of this.#fields) {
      const values = this.values(entry, attribute, false);
      if (values.length > 0) fields[field] = values.join(', ');
    }
    return fields;
  }

  /**
   * Attributes of a new entry holding `fields`: the uri's template attributes,
   * displayName, the mapped fields that have a value, and `cn`/`sn` (which inetOrgPerson
   * requires) when no field gives them. Throws a plain Error when the uri fits no
   * template (the caller maps it to Rejected).
   */
  newEntry(fields: Readonly<Record<string, string>>): EntryAttributes {
    const { attributes: fromUri, uri } = this.#parseUri(fields[URI]);
    const out: EntryAttributes = { ...fromUri };
    const name = fields[DISPLAY_NAME];
    if (name !== undefined) out.displayName = [name];
    for (const [field, attribute] of this.#fields) {
      const values = splitField(fields[field]);
      if (values.length > 0) out[attribute] = values;
    }
    const label = name ?? Object.values(fromUri)[0]?.[0] ?? uri;
    out.cn ??= [label];
    out.sn ??= [label.split(' ').at(-1) ?? label];
    return out;
  }

  /**
   * The attribute changes that write the `owned` fields over `entry`: attribute → its
   * complete new values (`[]` removes it); attributes that stay as they are are left out,
   * and so is everything no owned field maps. A field whose value did not change touches
   * nothing. A changed field replaces only the part of the entry it shows: the uri the
   * first value of each attribute of its template (other values kept), display-name the
   * first displayName value (added when the name came from cn or givenName + sn, which
   * stay), an extra field the values it lists (kept values keep their spelling, e.g. a
   * national phone number). Throws a plain Error when the new uri is missing or fits no
   * template.
   */
  edit(entry: EntryValues, fields: Readonly<Record<string, string>>, owned: readonly string[]): EntryAttributes {
    const own = new Set(owned);
    const now = this.toFields(entry) ?? {};
    const work = new Map<string, { name: string; values: string[] }>();
    const get = (attribute: string): string[] => work.get(attribute.toLowerCase())?.values ?? [...(entry.get(attribute.toLowerCase()) ?? [])];
    const put = (attribute: string, values: string[]) => work.set(attribute.toLowerCase(), { name: attribute, values });

    if (own.has(URI) && fields[URI] !== now[URI]) {
      const { attributes } = this.#parseUri(fields[URI]);
      const used = this.#fill(entry)?.template.attributes ?? [];
      for (const [attribute, [value]] of Object.entries(attributes)) {
        // The current uri shows the first value of the attributes of its own template.
        const old = used.includes(attribute) ? this.values(entry, attribute, true)[0] : undefined;
        const rest = get(attribute).filter((v) => {
          const form = this.#form(attribute, v, true);
          return form === undefined || (form !== old && form !== value);
        });
        put(attribute, [value as string, ...rest]);
      }
    }

    if (own.has(DISPLAY_NAME) && fields[DISPLAY_NAME] !== now[DISPLAY_NAME]) {
      const name = fields[DISPLAY_NAME];
      const values = get('displayName');
      const first = values.findIndex((v) => v.trim() !== '');
      const rest = values.filter((v, i) => i !== first && v.trim() !== name);
      put('displayName', name === undefined ? rest : [name, ...rest]);
    }

    for (const [field, attribute] of this.#fields) {
      if (!own.has(field) || fields[field] === now[field]) continue;
      const wanted = splitField(fields[field]);
      const kept = new Map<string, string>();
      for (const v of get(attribute)) {
        const form = this.#form(attribute, v, false);
        if (form !== undefined && wanted.includes(form) && !kept.has(form)) kept.set(form, v);
      }
      put(attribute, [...kept.values(), ...wanted.filter((w) => !kept.has(w))]);
    }

    const out: EntryAttributes = {};
    for (const [lower, { name, values }] of work) {
      const before = entry.get(lower) ?? [];
      if (values.length !== before.length || values.some((v, i) => v !== before[i])) out[name] = values;
    }
    return out;
  }

  /** The attribute values a uri stands for (one per template placeholder). */
  #parseUri(uri: string | undefined): { uri: string; attributes: EntryAttributes } {
    if (uri === undefined) throw new Error('item has no uri');
    const attributes = this.#reverse(uri);
    if (attributes === undefined) throw new Error(`uri ${JSON.stringify(uri)} fits none of the templates ${this.#templates.map((t) => t.source).join(', ')}`);
    return { uri, attributes };
  }

  #reverse(uri: string): EntryAttributes | undefined {
    for (const t of this.#templates) {
      const m = t.reverse.exec(uri);
      if (!m) continue;
      const out: EntryAttributes = {};
      t.attributes.forEach((a, i) => {
        const raw = decodeURIComponent(m[i + 1] as string);
        const phone = this.#phones.has(a.toLowerCase()) ? this.normalizePhone(raw) : raw;
        out[a] = [phone ?? raw];
      });
      return out;
    }
    return undefined;
  }
}

/** The distinct values a multi-valued field lists (`a, b`). */
function splitField(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(', ').map((v) => v.trim()).filter((v) => v !== ''))];
}

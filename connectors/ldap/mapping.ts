/**
 * Entry ↔ item fields. Reading: `uri` from the first template whose placeholders are all
 * present (phone attributes normalized to E.164 first, duplicates collapsed),
 * `display-name` from displayName, else cn, else givenName + sn, and the configured extra
 * fields. Writing: the reverse, for write-back. Pure functions of the compiled config.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { PLACEHOLDER, type LdapMapping } from './config.ts';

/** Attribute values of one entry by lower-cased attribute name, as text. */
export type EntryValues = ReadonlyMap<string, readonly string[]>;

/** Attributes to set on an entry, by attribute name; an empty array clears the attribute. */
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
    const parsed = parsePhoneNumberFromString(value, this.#country);
    return parsed?.isPossible() ? parsed.number : undefined;
  }

  /**
   * Distinct values of an attribute; phone attributes normalized to E.164 (values that
   * are not phone numbers dropped when `strict`, kept trimmed otherwise).
   */
  values(entry: EntryValues, attribute: string, strict: boolean): string[] {
    const raw = entry.get(attribute.toLowerCase()) ?? [];
    const out = new Set<string>();
    const phone = this.#phones.has(attribute.toLowerCase());
    for (const v of raw) {
      const trimmed = v.trim();
      if (trimmed === '') continue;
      const value = phone ? (this.normalizePhone(trimmed) ?? (strict ? undefined : trimmed)) : trimmed;
      if (value !== undefined) out.add(value);
    }
    return [...out];
  }

  /** The entry's uri, or undefined when no template can be filled (the entry is skipped). */
  uri(entry: EntryValues): string | undefined {
    next: for (const t of this.#templates) {
      let out = '';
      for (const part of t.parts) {
        out += part.literal;
        if (part.name === undefined) continue;
        const value = this.#placeholder(entry, part.name);
        if (value === undefined) continue next;
        out += uriEscape(value);
      }
      return out;
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
   * Attributes for write-back. `rdn` is the attribute naming new entries. Returns the
   * attributes to set (including empty arrays for managed attributes the item lacks, so a
   * modify clears them) and, for creation only, `cn`/`sn` which inetOrgPerson requires.
   * Throws a plain Error when the uri fits no template (the caller maps it to Rejected).
   */
  toAttributes(fields: Readonly<Record<string, string>>): { set: EntryAttributes; createOnly: EntryAttributes } {
    const set: EntryAttributes = {};
    const uri = fields[URI];
    if (uri === undefined) throw new Error('item has no uri');
    const fromUri = this.#reverse(uri);
    if (fromUri === undefined) throw new Error(`uri ${JSON.stringify(uri)} fits none of the templates ${this.#templates.map((t) => t.source).join(', ')}`);
    Object.assign(set, fromUri);
    const name = fields[DISPLAY_NAME];
    set.displayName = name === undefined ? [] : [name];
    for (const [field, attribute] of this.#fields) {
      const value = fields[field];
      set[attribute] = value === undefined ? [] : value.split(', ').filter((v) => v !== '');
    }
    const label = name ?? Object.values(fromUri)[0]?.[0] ?? uri;
    const createOnly: EntryAttributes = {};
    if (set.cn === undefined) createOnly.cn = [label];
    if (set.sn === undefined) createOnly.sn = [label.split(' ').at(-1) ?? label];
    return { set, createOnly };
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

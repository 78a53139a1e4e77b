/**
 * The escaping XML writer every phonebook format writes through, so escaping is done once:
 * text and attribute values are escaped for XML 1.0, characters XML cannot carry (C0
 * controls, U+FFFE/U+FFFF, lone surrogates) are dropped, and everything else, non-Latin
 * names included, goes out as UTF-8 text (the response is `charset=utf-8`; no format
 * needs character references).
 *
 * Output is collected in chunks: `drain()` hands over what was written so far, so a large
 * file is sent piece by piece and never held whole.
 */

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;
const TEXT_SPECIAL = /[&<>]/g;
const ATTR_SPECIAL = /[&<>"\t\n\r]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** `value` as XML character data. */
export function escapeText(value: string): string {
  return value.replace(NOT_XML_CHAR, '').replace(TEXT_SPECIAL, (c) => ENTITY[c] as string);
}

/** `value` as the content of a double-quoted attribute (whitespace kept as references). */
export function escapeAttr(value: string): string {
  return value.replace(NOT_XML_CHAR, '').replace(ATTR_SPECIAL, (c) => ENTITY[c] as string);
}

/** `value` cut to at most `bytes` UTF-8 bytes without splitting a character (phones' field limits). */
export function truncateUtf8(value: string, bytes: number): string {
  if (Buffer.byteLength(value) <= bytes) return value;
  let out = '';
  let n = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch);
    if (n + size > bytes) break;
    out += ch;
    n += size;
  }
  return out;
}

export type Attributes = Readonly<Record<string, string | number | boolean>>;

export class XmlWriter {
  #out = '';

  /** Starts with the XML declaration (UTF-8); `standalone` adds `standalone="yes"` (Polycom writes it). */
  constructor(opts: { standalone?: boolean } = {}) {
    this.#out = `<?xml version="1.0" encoding="UTF-8"${opts.standalone ? ' standalone="yes"' : ''}?>\n`;
  }

  /** `<name attrs>` */
  open(name: string, attrs?: Attributes): this {
    this.#out += `<${name}${attributes(attrs)}>`;
    return this;
  }

  /** `</name>` and a line break (files stay readable and diffable). */
  close(name: string): this {
    this.#out += `</${name}>\n`;
    return this;
  }

  /** `<name attrs>text</name>`, or `<name attrs/>` when `text` is empty. */
  leaf(name: string, text: string | number, attrs?: Attributes): this {
    const t = typeof text === 'number' ? String(text) : escapeText(text);
    this.#out += t === '' ? `<${name}${attributes(attrs)}/>` : `<${name}${attributes(attrs)}>${t}</${name}>`;
    return this;
  }

  /** `<name attrs/>` */
  empty(name: string, attrs?: Attributes): this {
    this.#out += `<${name}${attributes(attrs)}/>`;
    return this;
  }

  /** Markup built with escapeText/escapeAttr (formats that measure an entry before writing it). */
  markup(xml: string): this {
    this.#out += xml;
    return this;
  }

  /** A line break between elements. */
  newline(): this {
    this.#out += '\n';
    return this;
  }

  /** UTF-16 length of what is buffered (a cheap size check before draining). */
  get buffered(): number {
    return this.#out.length;
  }

  /** What was written since the last drain. */
  drain(): string {
    const s = this.#out;
    this.#out = '';
    return s;
  }
}

function attributes(attrs: Attributes | undefined): string {
  if (attrs === undefined) return '';
  let s = '';
  for (const [k, v] of Object.entries(attrs)) s += ` ${k}="${typeof v === 'string' ? escapeAttr(v) : String(v)}"`;
  return s;
}

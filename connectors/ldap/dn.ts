/**
 * Distinguished names built from untrusted values (RFC 4514 §2.4). Filters need no helper
 * here: the connector builds them as ldapts filter objects, whose values go on the wire as
 * BER octet strings and so cannot change a filter's structure.
 */

/**
 * Escapes one attribute value for use in a DN string: `"` `+` `,` `;` `<` `>` `\` and `=`
 * anywhere, `#` or space at the start, space at the end, and NUL as `\00`.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '\0') out += '\\00';
    else if ('"+,;<>\\='.includes(ch) || (i === 0 && (ch === '#' || ch === ' ')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** `<attribute>=<escaped value>,<parent>`. */
export function childDn(attribute: string, value: string, parentDn: string): string {
  return `${attribute}=${escapeDnValue(value)},${parentDn}`;
}

/** Lower-cased DN without spaces around separators, for comparing DNs written by hand. */
export function normalizeDn(dn: string): string {
  return dn.replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

/** Inverse of escapeDnValue, also accepting `\XX` hex escapes of UTF-8 bytes (RFC 4514 §3). */
export function unescapeDnValue(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; ) {
    const hex = value[i] === '\\' ? /^[0-9a-fA-F]{2}/.exec(value.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 3;
      continue;
    }
    if (value[i] === '\\' && i + 1 < value.length) i += 1;
    const ch = String.fromCodePoint(value.codePointAt(i) as number);
    bytes.push(...Buffer.from(ch));
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** First RDN of a DN string: attribute, unescaped value, and how many characters it spans. */
export function parseRdn(dn: string): { attribute: string; value: string; length: number } | undefined {
  const m = /^([^=,+]+)=((?:[^,+\\]|\\.)*)/.exec(dn);
  if (!m) return undefined;
  return { attribute: (m[1] as string).trim(), value: unescapeDnValue(m[2] as string), length: m[0].length };
}

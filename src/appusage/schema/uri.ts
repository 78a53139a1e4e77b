/**
 * A conservative test for URI references that libxml2 certainly parses (xmlParseURI), as
 * both xs:anyURI values and namespace names need: RFC 3986 syntax without IP literals,
 * with complete percent-escapes and short ports. Anything else is left to libxml2.
 */
const PCHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})";
const PCHAR_NC = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})";
const REG = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})";
const AUTHORITY = `//(?:(?:${REG}|:)*@)?${REG}*(?::[0-9]{1,4})?(?:/${PCHAR}*)*`;
const TAIL = `(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;
const ANY_URI = new RegExp(
  `^(?:[A-Za-z][A-Za-z0-9+.-]*:(?:${AUTHORITY}|/?(?:${PCHAR}+(?:/${PCHAR}*)*)?)` +
    `|${AUTHORITY}|/(?:${PCHAR}+(?:/${PCHAR}*)*)?|${PCHAR_NC}+(?:/${PCHAR}*)*|)${TAIL}$`,
);

/** Characters of the usual shape's part after the scheme: unreserved, sub-delims, ':' and '@'. */
const PLAIN = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:@-") PLAIN[c.charCodeAt(0)] = 1;

/** The usual shape (sip:user@host, tel:+1...): a scheme of 2-10 lowercase letters, a colon, plain characters. */
function isSimpleUri(v: string): boolean {
  const colon = v.indexOf(':');
  if (colon < 2 || colon > 10) return false;
  for (let i = 0; i < colon; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) return false;
  }
  for (let i = colon + 1; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x80 || PLAIN[c] === 0) return false;
  }
  return true;
}

/** True when `v` is a URI reference of the plain kind described above. */
export function isPlainUriReference(v: string): boolean {
  return isSimpleUri(v) || ANY_URI.test(v);
}

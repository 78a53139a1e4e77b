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

// The usual shape (sip:user@host, tel:+1...), matched before the full expression.
const SIMPLE_URI = /^[a-z]{2,10}:[A-Za-z0-9._~!$&'()*+,;=:@-]*$/;

/** True when `v` is a URI reference of the plain kind described above. */
export function isPlainUriReference(v: string): boolean {
  return SIMPLE_URI.test(v) || ANY_URI.test(v);
}

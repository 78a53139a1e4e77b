/**
 * The Content-Type of a PUT (RFC 9110 §8.3.1: `type "/" subtype *( OWS ";" OWS parameter )`,
 * names case-insensitive, values a token or a quoted-string). XCAP compares the media type
 * with the one the URI selects (RFC 4825 §8.2.1) and reads one parameter, `charset`: XCAP
 * bodies are UTF-8 (§8.2.2), and for the `+xml` types RFC 7303 §3 makes a charset
 * parameter name the body's encoding, so one naming anything else declares a body that is
 * not UTF-8.
 */

export interface MediaType {
  /** `type/subtype` in lower case; empty when the header is absent or empty. */
  readonly type: string;
  /** The `charset` parameter's value as sent (unquoted), when there is one. */
  readonly charset: string | undefined;
}

/** Splits a Content-Type header value. Parameters it cannot read are ignored, as unknown ones are. */
export function parseMediaType(header: string | undefined): MediaType {
  if (!header) return { type: '', charset: undefined };
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  let charset: string | undefined;
  if (semi !== -1) {
    for (const m of header.slice(semi).matchAll(PARAMETER)) {
      if ((m[1] as string).toLowerCase() === 'charset') charset = m[3] === undefined ? (m[2] as string) : m[3].replace(/\\(.)/g, '$1');
    }
  }
  return { type, charset };
}

// `;` OWS name `=` (token | quoted-string).
const PARAMETER = /;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"((?:[^"\\]|\\.)*)")/g;

/** Whether a charset value names UTF-8 (charset names are case-insensitive, RFC 2978). */
export function isUtf8Charset(charset: string): boolean {
  return charset.toLowerCase() === 'utf-8';
}

/**
 * How a user's XUI relates to the names clients log in with: XUI
 * `sip:alice@example.com` ⇄ logins `alice` (realm `example.com`) and `alice@example.com`.
 */

/** The parts of a user XUI. */
export interface XuiParts {
  /** `sip` or `sips`. */
  readonly scheme: string;
  /** User part, `alice`. */
  readonly user: string;
  /** Host part, `example.com`. */
  readonly domain: string;
}

// user part: anything but '@', ':', '/', whitespace; host: a name or address without '@', '/', whitespace.
const XUI_RE = /^(sips?):([^@:/\s]+)@([^@/\s]+)$/;

/** Splits `sip:alice@example.com`; `undefined` when the string is not a user SIP URI. */
export function parseXui(xui: string): XuiParts | undefined {
  const m = XUI_RE.exec(xui);
  if (!m) return undefined;
  return { scheme: m[1] as string, user: m[2] as string, domain: m[3] as string };
}

/** The full login form `alice@example.com` of a user XUI. */
export function fullLogin(parts: XuiParts): string {
  return `${parts.user}@${parts.domain}`;
}

/**
 * The default XCAP authorization: a user reaches only `users/<own xui>/`; the
 * global tree is readable by every authenticated user and writable by admins only; admins
 * reach every user's documents (to manage them). Application usages may refuse more
 * through `AppUsage.authorize`; the HTTP layer calls both.
 */
import type { Access, Principal } from '../appusage/types.ts';
import type { DocKey } from '../store/types.ts';
import { Forbidden } from '../xcap/errors.ts';
import { parseXui } from './login.ts';

/** Returns when `principal` may `access` the document `key`; throws `Forbidden` otherwise. */
export function authorize(principal: Principal, key: DocKey, access: Access): void {
  if (principal.admin) return;
  if (key.xui === null) {
    if (access === 'read') return;
  } else if (sameXui(principal.xui, key.xui)) {
    return;
  }
  throw new Forbidden();
}

/**
 * Whether two XUIs name the same user: byte-equal, or equal once the host part is
 * lowercased (SIP hosts are case-insensitive, user parts are not; RFC 3261 §19.1.4).
 */
export function sameXui(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = parseXui(a);
  const pb = parseXui(b);
  return pa !== undefined && pb !== undefined && pa.scheme === pb.scheme && pa.user === pb.user
    && pa.domain.toLowerCase() === pb.domain.toLowerCase();
}

/**
 * Document selectors as xcap-diff writes them (`sel`, relative to the XCAP root: RFC 5874
 * §4) and the filters consumers of the change feed narrow it with.
 */
import { docKeyString, type DocKey } from '../store/types.ts';
import { BadRequest } from '../xcap/errors.ts';
import { encodePathSegment } from '../xcap/uri.ts';
import type { FeedFilter } from './config.ts';

/** `auid/users/<xui>/<path>` or `auid/global/<path>`, each segment percent-encoded where it is not a pchar. */
export function docSelector(key: DocKey): string {
  const path = key.path.split('/').map(encodePathSegment).join('/');
  return key.xui === null ? `${encodePathSegment(key.auid)}/global/${path}` : `${encodePathSegment(key.auid)}/users/${encodePathSegment(key.xui)}/${path}`;
}

/** The inverse of `docSelector`; a leading `/` is allowed. @throws BadRequest naming what is wrong. */
export function parseDocSelector(sel: string): DocKey {
  let parts: string[];
  try {
    parts = sel.replace(/^\//, '').split('/').map(decodeURIComponent);
  } catch {
    throw new BadRequest(`document selector ${sel} has a bad percent-encoding`);
  }
  const [auid, tree] = parts;
  if (!auid || (tree !== 'global' && tree !== 'users')) throw new BadRequest(`document selector ${sel} is not auid/global/path or auid/users/xui/path`);
  const rest = parts.slice(tree === 'users' ? 3 : 2);
  const xui = tree === 'users' ? parts[2] : null;
  if (xui === '' || xui === undefined || rest.length === 0 || rest.some((s) => s === '')) {
    throw new BadRequest(`document selector ${sel} is not auid/global/path or auid/users/xui/path`);
  }
  return { auid, xui, path: rest.join('/') };
}

/** A filter compiled for fast matching of each change. */
export interface CompiledFilter {
  matches(key: DocKey): boolean;
  /** The auids a full-state listing has to cover (undefined: all). */
  readonly auids: readonly string[] | undefined;
  /** The users a full-state listing has to cover (undefined: everyone and the global tree). */
  readonly users: readonly string[] | undefined;
  /** Equal for filters that match the same documents (the same lists, in any order). */
  readonly key: string;
}

export function compileFilter(f: FeedFilter): CompiledFilter {
  const auids = f.auids && new Set(f.auids);
  const users = f.users && new Set(f.users);
  const docs = f.documents && new Set(f.documents.map((d) => docKeyString(parseDocSelector(d))));
  const sorted = (xs: readonly string[] | undefined) => (xs ? [...new Set(xs)].sort() : null);
  return {
    auids: f.auids,
    users: f.users,
    key: JSON.stringify([sorted(f.auids), sorted(f.users), docs ? [...docs].sort() : null]),
    matches(key) {
      if (auids && !auids.has(key.auid)) return false;
      if (users && (key.xui === null || !users.has(key.xui))) return false;
      return !docs || docs.has(docKeyString(key));
    },
  };
}

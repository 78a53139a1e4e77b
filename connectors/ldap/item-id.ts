/**
 * Item ids. OpenLDAP and 389-DS give `entryUUID` as text (RFC 4530). Active Directory's
 * `objectGUID` is 16 raw bytes whose first three fields are little-endian (Microsoft GUID
 * layout), so the bytes `33 22 11 00 55 44 77 66 88 99 …` read as
 * `00112233-4455-6677-8899-…`; searching needs those bytes back.
 */
import { EqualityFilter } from 'ldapts';

/** Byte order of a GUID string's hex pairs inside the 16-byte objectGUID. */
const GUID_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

export function guidToString(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const hex = GUID_ORDER.map((i) => (bytes[i] as number).toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Inverse of guidToString; undefined for anything that is not a GUID string. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function guidToBytes(guid: string): Buffer | undefined {
  if (!UUID.test(guid)) return undefined;
  const hex = guid.replace(/-/g, '');
  const out = Buffer.alloc(16);
  GUID_ORDER.forEach((src, dst) => {
    out[src] = parseInt(hex.slice(dst * 2, dst * 2 + 2), 16);
  });
  return out;
}

/**
 * Equality filter selecting the entry with this id, or undefined when the id cannot be
 * one (not a UUID/GUID string, e.g. `*)(uid=*`): such ids match nothing, so callers skip the search.
 */
export function idFilter(idAttribute: 'entryUUID' | 'objectGUID', id: string): EqualityFilter | undefined {
  if (idAttribute === 'objectGUID') {
    const bytes = guidToBytes(id);
    return bytes ? new EqualityFilter({ attribute: 'objectGUID', value: bytes }) : undefined;
  }
  return UUID.test(id) ? new EqualityFilter({ attribute: idAttribute, value: id }) : undefined;
}

/** The id of a search result entry, as text. */
export function idOf(idAttribute: 'entryUUID' | 'objectGUID', raw: Buffer | string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (idAttribute === 'objectGUID') return Buffer.isBuffer(raw) && raw.length === 16 ? guidToString(raw) : undefined;
  return Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
}

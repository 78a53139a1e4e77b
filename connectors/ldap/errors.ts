/**
 * The one place where ldapts and socket errors become connector errors. ldapts raises one
 * ResultCodeError subclass per LDAP result code (RFC 4511 Appendix A; 122 from RFC 4528
 * arrives as UnknownStatusCodeError); anything else it throws is a connection problem.
 */
import { ResultCodeError } from 'ldapts';
import { ConnectorError, NotFound, Rejected, Unavailable, VersionMismatch } from '../errors.ts';
import { ASSERTION_FAILED } from './assertion-control.ts';

/** Result codes worth retrying: the server is busy, limited or going away. */
const TRANSIENT = new Set([
  3, // timeLimitExceeded
  11, // adminLimitExceeded
  51, // busy
  52, // unavailable
  80, // other (slapd uses it for transient backend failures)
]);

/** Result codes meaning "what you asked for already changed": retry after a fresh read. */
const RACE = new Set([
  ASSERTION_FAILED,
  68, // entryAlreadyExists: an entry with that name appeared
]);

/** Result codes meaning the target entry (or the collection's base) is gone. */
const GONE = new Set([32]); // noSuchObject

/** TLS verification failures are configuration errors, not outages. */
const TLS_CONFIG = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY/;

/**
 * Translates any error thrown while talking to the directory. `what` names the operation
 * for the message (never include credentials in it). Result codes not listed above
 * (credentials 49, access 50, schema and naming violations, unwilling 53, an unsupported
 * critical control 12, …) are permanent: `Rejected`.
 */
export function translateLdapError(err: unknown, what: string): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof ResultCodeError) {
    const message = `LDAP ${what}: ${resultText(err)}`;
    if (RACE.has(err.code)) return new VersionMismatch(message, { cause: err });
    if (GONE.has(err.code)) return new NotFound(message, { cause: err });
    if (TRANSIENT.has(err.code)) return new Unavailable(message, { cause: err });
    return new Rejected(message, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && TLS_CONFIG.test(code)) return new Rejected(`LDAP ${what}: TLS: ${detail}`, { cause: err });
  return new Unavailable(`LDAP ${what}: ${detail}`, { cause: err });
}

/**
 * What a result means, for people: ldapts leaves the message empty for many codes
 * (`" Code: 0x31"`), so the error class names it (`InvalidCredentialsError` → `invalid
 * credentials`), followed by the server's own text when it sent one.
 */
function resultText(err: ResultCodeError): string {
  const meaning = err.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const text = err.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
  return `${meaning} (result code ${err.code})${text ? `: ${text}` : ''}`;
}

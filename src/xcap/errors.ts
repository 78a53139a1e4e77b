/**
 * Every error the XCAP request path can raise, one class per wire condition.
 *
 * Errors are raised where they arise (URI parser, selector engine, application usage,
 * store, auth) and rendered in exactly one place: `src/http/error-handler.ts`.
 * `expose` is false only for 5xx: their message never reaches the client.
 *
 * The 409 conditions are those of RFC 4825 §11 (schema `urn:ietf:params:xml:ns:xcap-error`);
 * each class names its element and the section that defines it.
 */

import { encodeSelector } from './uri.ts';

export const XCAP_ERROR_NS = 'urn:ietf:params:xml:ns:xcap-error';

/** Base for everything that maps to an HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  /** Extra response headers (Allow, WWW-Authenticate, ...). */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** Whether `message` may be shown to the client. */
  readonly expose: boolean;

  constructor(status: number, message: string, headers: Record<string, string | string[]> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.headers = headers;
    this.expose = status < 500;
  }
}

/** 400: the request cannot be understood (bad URI syntax, bad header). */
export class BadRequest extends HttpError {
  constructor(message = 'bad request') {
    super(400, message);
  }
}

/** 401 with a challenge; `challenges` are complete WWW-Authenticate values. */
export class Unauthorized extends HttpError {
  /** `message`: why, when more can be said than "authentication required" without telling whether the user exists. */
  constructor(challenges: string[], message = 'authentication required') {
    super(401, message, { 'WWW-Authenticate': challenges });
  }
}

/** 403: authenticated but not allowed here. Never says whether the resource exists. */
export class Forbidden extends HttpError {
  constructor(message = 'forbidden') {
    super(403, message);
  }
}

/** 404: no such document, or the node selector selects nothing (RFC 4825 §8.1.4, §8.2.1). */
export class NotFound extends HttpError {
  constructor(message = 'not found') {
    super(404, message);
  }
}

/** 405 with the Allow header (e.g. PUT on a namespace selector, RFC 4825 §8.2.5). */
export class MethodNotAllowed extends HttpError {
  constructor(allow: string[]) {
    super(405, 'method not allowed', { Allow: allow.join(', ') });
  }
}

/** 412: If-Match / If-None-Match failed for a non-GET method (RFC 4825 §7.11). */
export class PreconditionFailed extends HttpError {
  constructor(message = 'precondition failed') {
    super(412, message);
  }
}

/** 413: body larger than `limits.maxBodyBytes`. */
export class PayloadTooLarge extends HttpError {
  constructor(limit: number) {
    super(413, `request body exceeds ${limit} bytes`);
  }
}

/** 415: Content-Type does not fit what the URI selects (RFC 4825 §8.2.1). */
export class UnsupportedMediaType extends HttpError {
  constructor(expected: string) {
    super(415, `expected Content-Type ${expected}`);
  }
}

/** 500 for anything unexpected; the message stays in the log. */
export class InternalError extends HttpError {
  constructor(message = 'internal error') {
    super(500, message);
  }
}

/** 503: a dependency (database) is unavailable; the client may retry. */
export class ServiceUnavailable extends HttpError {
  constructor(message = 'service unavailable') {
    super(503, message, { 'Retry-After': '1' });
  }
}

/**
 * 409 with an `application/xcap-error+xml` body (RFC 4825 §11.1). Subclasses set the
 * element name; `detailXml()` returns the child of `<xcap-error>` as XML text.
 */
export abstract class XcapConflict extends HttpError {
  /** Local name of the condition element, e.g. `no-parent`. */
  abstract readonly tag: string;
  /** Optional human-readable text sent as the `phrase` attribute. */
  readonly phrase: string | undefined;

  constructor(phrase?: string) {
    super(409, phrase ?? 'conflict');
    this.phrase = phrase;
  }

  /** The condition element; subclasses with children override this. */
  detailXml(): string {
    return `<${this.tag}${phraseAttr(this.phrase)}/>`;
  }
}

/** §11.2 not-well-formed: body is not well-formed XML (incl. DOCTYPE/entity declarations we refuse). */
export class NotWellFormed extends XcapConflict {
  readonly tag = 'not-well-formed';
}

/** §11.2 not-xml-frag: element PUT body is not a single well-formed element. */
export class NotXmlFrag extends XcapConflict {
  readonly tag = 'not-xml-frag';
}

/**
 * §11.2 no-parent: the parent of the target does not exist. `ancestor` is the
 * HTTP URI of the closest existing ancestor (RFC 4825 §11.2 / §8.2.1).
 */
export class NoParent extends XcapConflict {
  readonly tag = 'no-parent';
  readonly ancestor: string | undefined;
  constructor(ancestor?: string, phrase?: string) {
    super(phrase);
    this.ancestor = ancestor;
  }
  override detailXml(): string {
    const inner = this.ancestor === undefined ? '' : `<ancestor>${escapeText(this.ancestor)}</ancestor>`;
    return `<no-parent${phraseAttr(this.phrase)}>${inner}</no-parent>`;
  }
}

/**
 * A repeated xs:unique value located in the text (src/appusage/schema/locate.ts): the steps
 * from the root to the element carrying it (positions 1-based among same-named siblings),
 * the key attribute, and the values it has among those siblings.
 */
export interface RepeatedKey {
  readonly steps: readonly { readonly ns: string; readonly local: string; readonly position: number }[];
  readonly attribute: string;
  readonly value: string;
  readonly siblings: ReadonlySet<string>;
}

/**
 * §11.2 schema-validation-error: the resulting document does not validate. `repeated` is
 * set when the cause is a located repeat of an xs:unique key, for a usage to turn it into a
 * uniqueness-failure without a DOM.
 */
export class SchemaValidationError extends XcapConflict {
  readonly tag = 'schema-validation-error';
  readonly repeated: RepeatedKey | undefined;
  constructor(phrase?: string, repeated?: RepeatedKey) {
    super(phrase);
    this.repeated = repeated;
  }
}

/** §11.2 not-xml-att-value: attribute PUT body is not a valid attribute value. */
export class NotXmlAttValue extends XcapConflict {
  readonly tag = 'not-xml-att-value';
}

/** §11.2 cannot-insert: after the PUT the URI would not select what was put (§8.2.3). */
export class CannotInsert extends XcapConflict {
  readonly tag = 'cannot-insert';
}

/** §11.2 cannot-delete: after the DELETE the URI would still select a node (§8.3). */
export class CannotDelete extends XcapConflict {
  readonly tag = 'cannot-delete';
}

/**
 * One `<exists>` of a uniqueness failure: the field (a node selector relative to the
 * document, as text; percent-encoded when rendered, since the attribute is a URI
 * reference, RFC 4825 §11.1) and suggested values.
 */
export interface UniquenessField {
  field: string;
  altValues?: string[];
}

/** §11.2 uniqueness-failure, with `<exists field=".."><alt-value>..</alt-value></exists>` children. */
export class UniquenessFailure extends XcapConflict {
  readonly tag = 'uniqueness-failure';
  readonly fields: UniquenessField[];
  constructor(fields: UniquenessField[], phrase?: string) {
    super(phrase);
    this.fields = fields;
  }
  override detailXml(): string {
    const inner = this.fields
      .map(
        (f) =>
          `<exists field="${escapeAttr(encodeSelector(f.field))}">` +
          (f.altValues ?? []).map((v) => `<alt-value>${escapeText(v)}</alt-value>`).join('') +
          '</exists>',
      )
      .join('');
    return `<uniqueness-failure${phraseAttr(this.phrase)}>${inner}</uniqueness-failure>`;
  }
}

/** §11.2 constraint-failure: an application usage constraint other than schema/uniqueness. */
export class ConstraintFailure extends XcapConflict {
  readonly tag = 'constraint-failure';
}

/** §11.2 not-utf-8: the body is not valid UTF-8. */
export class NotUtf8 extends XcapConflict {
  readonly tag = 'not-utf-8';
}

/** Every 409 condition class, for docs and the test that pins them to the docs. */
export const XCAP_CONFLICTS = [
  NotWellFormed,
  NotXmlFrag,
  NoParent,
  SchemaValidationError,
  NotXmlAttValue,
  CannotInsert,
  CannotDelete,
  UniquenessFailure,
  ConstraintFailure,
  NotUtf8,
] as const;

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}

function phraseAttr(phrase: string | undefined): string {
  return phrase === undefined ? '' : ` phrase="${escapeAttr(phrase)}"`;
}

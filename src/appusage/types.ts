/**
 * AppUsage: what RFC 4825 §5 calls an application usage, as the XCAP core consumes it.
 *
 * Each standard usage lives in `src/appusage/<auid>/index.ts` and exports one `AppUsage`;
 * custom usages declared in config are built by `src/appusage/custom.ts`. The registry
 * (`src/appusage/registry.ts`) maps auid → AppUsage and feeds xcap-caps.
 *
 * The core parses, selects and mutates; the usage says what is valid. `validate` runs on
 * every PUT and DELETE result before the store write, with the whole resulting document.
 *
 * Deliberately not here: storage, HTTP, authentication.
 */
import type { Document, Element } from '@xmldom/xmldom';
import type { DocKey, DocumentStore } from '../store/types.ts';
import type { LocalRoots } from '../xcap/local-roots.ts';

/** Who is asking. */
export interface Principal {
  /** The authenticated user's XUI (`sip:alice@example.com`). */
  readonly xui: string;
  readonly admin: boolean;
}

export type Access = 'read' | 'write';

/**
 * A document about to be stored: its exact text, and a DOM of it parsed on first use.
 * Usages that can decide from the text (schema validation) never pay for the DOM.
 * The DOM is shared with the caller: read it, never mutate it.
 */
export interface CandidateDocument {
  readonly text: string;
  dom(): Document;
  /**
   * Set when the DOM already exists (element and attribute writes edit one in step with
   * `text`, which parses to it): usages may then check the DOM instead of parsing `text`.
   */
  readonly parsed?: Document;
  /**
   * Set with `parsed` when only this element (and what is below it) differs from a
   * document that passed this usage's validation with no leniency flags (an element PUT):
   * the usage may judge that part and the constraints it takes part in instead of the whole.
   */
  readonly edited?: Element;
  /**
   * With `edited`: only its start tag and its own content differ, not what is inside its
   * child elements (an attribute PUT or DELETE, the DELETE of one of its children).
   */
  readonly shallow?: boolean;
  /** With `shallow`: something was removed and nothing added (a DELETE of a child or an attribute). */
  readonly removal?: boolean;
}

/**
 * What usages may read of the store: other documents, never a write. Validation on a
 * worker thread (src/xcap/validation-pool.ts) answers these calls from the main thread.
 */
export type DocumentReader = Pick<DocumentStore, 'get' | 'head' | 'list'>;

/** Context for validation and generated documents. */
export interface UsageContext {
  readonly key: DocKey;
  readonly store: DocumentReader;
  /**
   * Client leniency flags for this request (config `clients.<name>.lenient`), e.g.
   * `entry-without-uri` for Snom/Bria `<entry>` carrying `cp:prop` pairs. Empty by default.
   */
  readonly lenient: ReadonlySet<string>;
  /** The XCAP root URI as the client addressed it (for `<ancestor>` and generated links). */
  readonly rootUri: string;
  /**
   * The absolute XCAP roots naming this server for this request (configured, and as the
   * request reached it), for absolute references into this server (rls-services
   * `<resource-list>`). Writes without a request (sync) know none, so they refuse such references.
   */
  readonly roots: LocalRoots;
}

export interface AppUsage {
  /** Application unique id (RFC 4825 §5.1), e.g. `resource-lists`. */
  readonly auid: string;
  /** MIME type of whole documents (RFC 4825 §5.4), e.g. `application/resource-lists+xml`. */
  readonly mimeType: string;
  /** Default document namespace (§5.7): unprefixed selector steps match this namespace. */
  readonly defaultNamespace: string;
  /** Namespaces this usage understands, for xcap-caps `<namespaces>` (default namespace first). */
  readonly namespaces: readonly string[];
  /** Where documents may live. `global` false: 404 under `global/`. */
  readonly scopes: { readonly global: boolean; readonly users: boolean };
  /**
   * Maps a requested document path to the stored one, so aliases reach one document
   * (pres-rules: `presrules`, `pres-rules`, `index.xml` → `index`). Identity when absent.
   */
  canonicalPath?(path: string): string;

  /**
   * Validates a complete document (XSD written from the RFC, then the usage's semantic
   * constraints). Throws `NotWellFormed`, `SchemaValidationError`, `UniquenessFailure` or
   * `ConstraintFailure` (src/xcap/errors.ts). Runs on every PUT and DELETE result, so it
   * is on the hot path: prefer checks on `doc.text` (one libxml2 pass) and touch
   * `doc.dom()` only when needed. May read other documents through `ctx.store` (the
   * rls-services `<resource-list>` check); uniqueness across documents is `serverUnique`'s.
   */
  validate(doc: CandidateDocument, ctx: UsageContext): Promise<void> | void;

  /**
   * Documents the server generates instead of storing (xcap-caps `global/index`,
   * rls-services `global/index`, xcap-directory). Resolves the body, or `undefined` when
   * `key` is an ordinary stored document. Generated documents are read-only: PUT/DELETE get 405 with `Allow: GET`.
   */
  generated?(key: DocKey, ctx: UsageContext, principal: Principal): Promise<string | undefined>;

  /**
   * Extra authorization beyond the default (users reach their own `users/<xui>/`, global is
   * read for all and write for admins). Return false to refuse with 403.
   */
  authorize?(principal: Principal, key: DocKey, access: Access): boolean;

  /** Largest accepted document in bytes, if smaller than the server-wide limit (pres-content). */
  readonly maxDocumentBytes?: number;

  /**
   * Values that no two documents of this usage on the server may share (rls-services: service
   * URIs, RFC 4826 §4.4.5). The writer stores them with the document (DocumentStore
   * WriteOptions.unique), so the store decides atomically who holds a value, whichever
   * process or shard writes; `validate` checks only uniqueness within the document.
   */
  readonly serverUnique?: ServerUnique;
}

export interface ServerUnique {
  /** The values a valid document holds, in document order (one per element that carries one). */
  values(body: string): string[];
  /**
   * The uniqueness failure for `values[index]`, which another document holds. `takenOf`
   * tells which of some candidate values other documents hold, for the alternatives the
   * failure suggests (RFC 4825 §11.2 `<alt-value>`).
   */
  failure(values: readonly string[], index: number, takenOf: (candidates: string[]) => Promise<ReadonlySet<string>>): Promise<Error>;
}

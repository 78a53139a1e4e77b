/**
 * Connector: one remote store (LDAP directory, CardDAV address book, SQL table, memory)
 * seen by the sync engine as collections of items.
 *
 * Why this interface exists: the sync engine (`src/sync/`) decides what to create, update
 * or delete on either side; a connector only lists, reads and conditionally writes. Every
 * connector passes the one contract suite `test/conformance/connector.suite.ts`.
 *
 * Terminology
 * - COLLECTION: an opaque string naming a set of items on the remote side (a base DN, an
 *   address-book URL, a table + owner). Bindings may template it per user. An empty
 *   collection is a valid, existing collection with no items; a collection that cannot be
 *   reached is `Unavailable`, never "empty".
 * - ITEM: one contact-like record. `id` is stable for the item's life (entryUUID, vCard UID
 *   href, primary key) and unique within the collection.
 * - VERSION: an opaque string that changes whenever the item changes on the remote side
 *   (LDAP entryCSN/modifyTimestamp, CardDAV ETag, SQL version column). Two reads of an
 *   unchanged item give the same version. Versions are compared for equality only.
 * - FIELDS: the item's content after the connector's own mapping, as flat string pairs
 *   (`uri`, `display-name`, and extra names such as `mail`, `mobile`). A field that is
 *   absent is not set; connectors never emit empty-string fields.
 *
 * Errors (connectors/errors.ts): `VersionMismatch` (the item changed or appeared since it
 * was read; retry after a fresh read), `NotFound` (the item or collection does not exist),
 * `Unavailable` (network, timeout, server down; retry with backoff), `Rejected` (the remote
 * refused the data or the credentials; permanent, shown to the operator). Native errors
 * are translated in one function per connector.
 *
 * Deliberately not here: scheduling, conflict policy and state (the sync engine owns
 * them), and connection setup (each connector's factory takes injected clients/config).
 */

/** Flat content of one item. Keys are field names from the binding's mapping. */
export type ItemFields = Readonly<Record<string, string>>;

/**
 * What `write` sends: the new content of the fields the caller owns. A remote item has
 * content the caller does not map (LDAP attributes, vCard properties, columns); a write
 * never touches it.
 */
export interface ItemWrite {
  /** The item to replace; on create, an id the caller would like (see `write`). */
  readonly id?: string;
  /** New values of the owned fields. */
  readonly fields: ItemFields;
  /**
   * The field names this write is about. On replace, an owned field missing from
   * `fields` is cleared; a field not owned keeps its value on the remote item, whatever
   * the connector maps it to. Default: the names in `fields` (nothing is cleared).
   */
  readonly owned?: readonly string[];
}

export interface ItemRef {
  readonly id: string;
  readonly version: string;
}

export interface RemoteItem extends ItemRef {
  readonly fields: ItemFields;
  /**
   * Time of the item's last change on the remote, milliseconds since the epoch, when the
   * backend records one (LDAP modifyTimestamp, SQL updated_at). Optional; used only by the
   * `newest-wins` conflict policy (an unknown time counts as newest).
   */
  readonly modified?: number;
}

/** Result of an incremental change query. */
export interface ChangeSet {
  /** Token to pass next time; opaque, may be stored for days. */
  readonly token: string;
  /** Items created or changed since the given token (all items when no token was given). */
  readonly upserted: readonly RemoteItem[];
  /**
   * Ids deleted since the given token (always empty when no token was given). A connector
   * that finds deletes by listing may report one a few calls late (LDAP: within its
   * `deleteScanIntervalMs`), never an item that still exists.
   */
  readonly deleted: readonly string[];
  /**
   * Set instead of `deleted` when the connector cannot tell which ids the token's holder
   * knows (LDAP: the token comes from another process, whose memory of handed-out ids is
   * gone) but has listed the collection: every id it holds at the listing. An id the caller
   * knows that is neither here nor in `upserted` is deleted. Cheaper than answering
   * `'token-expired'`, which makes the caller read every item.
   */
  readonly present?: readonly string[];
}

export interface ConnectorCapabilities {
  /** `write` and `remove` are implemented. Default is `false` for read-only sources. */
  readonly write: boolean;
  /** Writes honour `expect` atomically on the server (else: compare-then-write, documented race window). */
  readonly conditionalWrite: boolean;
  /** `changes()` is implemented. */
  readonly changeFeed: boolean;
  /**
   * `watch()` is implemented: the backend tells when it changed (PostgreSQL NOTIFY, a
   * cheap poll of a change counter), so the engine need not wait for a schedule.
   * Default is `false`.
   */
  readonly watch: boolean;
}

/**
 * What `watch` calls: something changed on the remote. `collections` names the collections
 * that changed when the connector can tell; `undefined` means "any collection may have
 * changed". A call is a hint, never data: the caller still finds what changed by `changes`
 * (or `list` + `read`), so a spurious call costs one small request per collection and a
 * missed detail costs nothing but latency.
 */
export type WatchListener = (collections?: readonly string[]) => void;

export interface Connector {
  /** Short name for logs and status (`ldap`, `carddav`, `sql`, `memory`). */
  readonly kind: string;
  readonly capabilities: ConnectorCapabilities;

  /**
   * Lists every item of `collection` as id + version, without content. Must be cheaper
   * than `read` (used to detect deletes). Throws `NotFound` if the collection does not
   * exist, `Unavailable` if it cannot be reached. Order is unspecified.
   */
  list(collection: string): AsyncIterable<ItemRef>;

  /**
   * Reads the given items. Ids that do not exist are skipped silently (the caller compares
   * with what it asked for); when `ids` is omitted, reads every item of the collection.
   */
  read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem>;

  /**
   * Changes since `token` (initial sync when `token` is undefined: every item in
   * `upserted`). Resolves `'token-expired'` when the token is unknown or too old; the
   * caller then falls back to `list` + `read`. Present only when `capabilities.changeFeed`.
   * An unchanged collection must cost one small request.
   */
  changes?(collection: string, token?: string): Promise<ChangeSet | 'token-expired'>;

  /**
   * Creates or changes one item. `expect: 'absent'` creates (the connector chooses the id
   * unless `item.id` is given and the backend accepts client ids) and throws
   * `VersionMismatch` if an item with that id exists. `expect: {version}` changes the
   * owned fields (`ItemWrite.owned`) only if the current version equals it, else throws
   * `VersionMismatch`; `NotFound` if the item is gone. A change never alters what the
   * owned fields do not map: other fields, unmapped remote content, and within a field
   * the part of the remote data the field does not show (a multi-valued attribute whose
   * first value alone is mapped keeps its other values). Resolves with the item's id and
   * new version. Present only when `capabilities.write`.
   */
  write(collection: string, item: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef>;

  /**
   * Deletes one item if its current version equals `expect.version`; `VersionMismatch`
   * otherwise, `NotFound` if it is already gone. Present only when `capabilities.write`.
   */
  remove(collection: string, id: string, expect: { readonly version: string }): Promise<void>;

  /**
   * Starts telling `listener` about changes made on the remote by anyone (this connector's
   * own writes included: the caller's next read finds nothing new in them). Calls come
   * soon after the change is committed; several changes may fold into one call, and one
   * call comes right after the watch is (re)established, since changes made while it was
   * not may have been missed. Never throws and never calls `listener` with an error: a
   * backend that cannot be reached is retried in the background (the caller's schedule
   * covers the gap). Returns the function that stops the watch; `close` stops every watch.
   * Present only when `capabilities.watch`.
   */
  watch?(listener: WatchListener): () => void;

  /** Releases connections. */
  close(): Promise<void>;
}

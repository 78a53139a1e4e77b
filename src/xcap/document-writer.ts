/**
 * DocumentWriter: the one path by which a whole document reaches (or leaves) the store. The document's
 * application usage validates it, then the store writes it conditionally (on the ETag the
 * writer read, on absence, or unconditionally) in one transaction with its change-feed
 * row, tagged with who wrote it (`xcap`, `sync:<binding>`). XcapService writes every
 * client edit through it and the sync engine writes every bound document through it, so a
 * sync write obeys exactly the rules a client's write does.
 *
 * Concurrency is the caller's: a lost race is the store's `EtagMismatch`, which
 * XcapService turns into a re-run or 412 and the sync engine into a retry of the run.
 */
import type { CandidateDocument, ServerUnique, UsageContext } from '../appusage/types.ts';
import { UniqueValueTaken, type DocKey, type DocumentStore, type WriteExpectation, type WriteResult } from '../store/types.ts';
import type { UsageLookup } from './service.ts';
import { LocalRoots } from './local-roots.ts';
import type { ValidationPool } from './validation-pool.ts';
import { prescanDocument, type XmlLimits } from './xml-prescan.ts';
import { parseDocument } from './xml.ts';

export interface DocumentWrite {
  readonly key: DocKey;
  readonly body: string;
  /**
   * What the usage checks; by default the body itself (parsed only if the usage asks). A
   * caller that edited a DOM passes it; sync passes only the items it wrote when the
   * usage's rules make that equivalent (ItemMapping.standAloneItems).
   */
  readonly candidate?: CandidateDocument;
  readonly expect: WriteExpectation;
  /** Change-feed origin: `xcap` for clients, `sync:<binding>` for sync runs. */
  readonly origin: string;
  /** Client leniency flags (config `clients.<name>.lenient`); none for sync. */
  readonly lenient?: ReadonlySet<string>;
  /** The XCAP root as the client addressed it; empty for sync. */
  readonly rootUri?: string;
  /** The absolute roots naming this server for the request; none for sync, which has no request. */
  readonly roots?: LocalRoots;
  /** ETag to store instead of a fresh one (an import keeping the legacy server's ETags; DocumentStore.put). */
  readonly etag?: string;
  /** Set for a whole document as a client sent it: `prescanDocument` with these limits runs before validation. */
  readonly prescan?: XmlLimits;
  /** Called when the write is committed, before it is durable (DocumentStore WriteOptions). */
  readonly onCommit?: (result: WriteResult) => void;
}

const NONE: ReadonlySet<string> = new Set();
const NO_ROOTS = new LocalRoots([]);

/** Where a validated document is written: `DocumentStore.put`'s signature. */
export type StorePut = DocumentStore['put'];

export class DocumentWriter {
  readonly store: DocumentStore;
  readonly #usages: UsageLookup | undefined;
  readonly #pool: ValidationPool | undefined;
  readonly #put: StorePut;
  readonly #backfills = new Map<string, Promise<void>>();

  /**
   * @param opts.usages Usages by auid. Without it nothing is validated: only the sync
   *   engine's own tests and benches build a writer so, to store what they generate.
   * @param opts.pool Threads for large documents (src/xcap/validation-pool.ts); without
   *   it every document is validated on the calling thread.
   * @param opts.put Where `write` stores what it validated; `store.put` by default. An HTTP
   *   worker of `serve` passes the primary's (src/http/primary-ipc.ts): it validates here
   *   and the one writing process commits, conditional expectations checked there.
   */
  constructor(opts: {
    readonly store: DocumentStore;
    readonly usages?: UsageLookup | undefined;
    readonly pool?: ValidationPool | undefined;
    readonly put?: StorePut | undefined;
  }) {
    this.store = opts.store;
    this.#usages = opts.usages;
    this.#pool = opts.pool;
    this.#put = opts.put ?? ((...args) => opts.store.put(...args));
  }

  /** Whether documents of `auid` are validated (a body written through the writer is then valid). */
  validates(auid: string): boolean {
    return this.#usages?.get(auid) !== undefined;
  }

  /**
   * Pre-scans (`prescan`), validates and stores; throws their error, the store's
   * `EtagMismatch`, or the usage's uniqueness failure for a value another document holds
   * (AppUsage.serverUnique), writing nothing.
   */
  async write(w: DocumentWrite & { readonly onValidated?: () => void }): Promise<WriteResult> {
    await this.validate(w);
    // Sync shares what passed with its concurrent runs before the store write completes.
    w.onValidated?.();
    const unique = this.#usages?.get(w.key.auid)?.serverUnique;
    if (unique === undefined) return this.#put(w.key, w.body, w.expect, w.origin, w.etag, { onCommit: w.onCommit });
    await this.#backfilled(w.key.auid, unique);
    // From the whole body: a sync candidate may hold only the items it wrote.
    const values = unique.values(w.body);
    try {
      return await this.#put(w.key, w.body, w.expect, w.origin, w.etag, { onCommit: w.onCommit, unique: values });
    } catch (err) {
      if (!(err instanceof UniqueValueTaken)) throw err;
      throw await unique.failure(values, values.indexOf(err.value), async (candidates) => new Set((await this.store.uniqueHolders(w.key.auid, candidates)).keys()));
    }
  }

  /** Once per writer and auid, before its first write: the values of documents stored before the store kept them. */
  #backfilled(auid: string, unique: ServerUnique): Promise<void> {
    let done = this.#backfills.get(auid);
    if (done === undefined) {
      done = this.store.backfillUnique(auid, (body) => unique.values(body));
      // A failure (store unavailable) fails this write; the next one tries again.
      done.catch(() => this.#backfills.delete(auid));
      this.#backfills.set(auid, done);
    }
    return done;
  }

  /** What `write` checks before storing, alone (an import's dry run): throws the usage's error. */
  async validate(w: Omit<DocumentWrite, 'expect' | 'origin'>): Promise<void> {
    const usage = this.#usages?.get(w.key.auid);
    if (usage) {
      const context: UsageContext = { key: w.key, store: this.store, lenient: w.lenient ?? NONE, rootUri: w.rootUri ?? '', roots: w.roots ?? NO_ROOTS };
      const candidate = w.candidate ?? lazyCandidate(w.body);
      if (this.#pool?.takes(candidate)) {
        await this.#pool.validate(usage.auid, candidate.text, context, w.prescan);
      } else {
        if (w.prescan) prescanDocument(candidate.text, w.prescan);
        await usage.validate(candidate, context);
      }
    } else if (w.prescan) {
      prescanDocument(w.body, w.prescan);
    }
  }

  /** Deletes the document if `expect` holds, with its change-feed row (see DocumentStore.delete). */
  remove(key: DocKey, expect: 'any' | { readonly etag: string }, origin: string): Promise<boolean> {
    return this.store.delete(key, expect, origin);
  }
}

/** A candidate whose DOM is parsed at most once, on first use. */
export function lazyCandidate(text: string): CandidateDocument {
  let dom: ReturnType<typeof parseDocument> | undefined;
  return { text, dom: () => (dom ??= parseDocument(text)) };
}

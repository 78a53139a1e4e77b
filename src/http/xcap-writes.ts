/**
 * XcapWriter: how the HTTP layer hands an authenticated PUT or DELETE to the XCAP service.
 *
 * Why it is a seam: with several `serve` processes on one machine the writes of a document
 * must meet in one process (the primary, primary-ipc.ts), so that writers of one document
 * take turns on one cached DOM instead of racing each other's ETags, and the SQLite file
 * has one writing connection (one group commit, no lock contention). A single process uses
 * `localWriter`, which runs the service in place; an HTTP worker uses `workerWrites`. An
 * `XcapWrite` is plain data (structured clone), so it crosses a process boundary as it is.
 */
import type { Principal } from '../appusage/types.ts';
import { LocalRoots } from '../xcap/local-roots.ts';
import type { Conditions, WriteOutcome, XcapService } from '../xcap/service.ts';
import type { XcapUri } from '../xcap/uri.ts';

/** One authenticated write, as received. */
export interface XcapWrite {
  readonly method: 'PUT' | 'DELETE';
  readonly uri: XcapUri;
  readonly principal: Principal;
  readonly conditions: Conditions;
  /** Leniency flags of the client profile that matched the request. */
  readonly lenient: ReadonlySet<string>;
  /** `http(s)://<Host header>` of the request, for the roots by which it names this server (src/http/tls.ts requestOrigin). */
  readonly origin: string | undefined;
  /** The deployment's domain when the request was parsed. */
  readonly defaultDomain: string | undefined;
  /** The body of a PUT, as read (at most the body limit). */
  readonly body?: Uint8Array;
  readonly contentType?: string | undefined;
}

/** Performs a write; rejects with the service's typed errors (HttpError, StoreUnavailable). */
export type XcapWriter = (w: XcapWrite) => Promise<WriteOutcome>;

/** Runs writes on `service` in this process. */
export function localWriter(service: XcapService, opts: { readonly root: string; readonly publicRoots: readonly string[] }): XcapWriter {
  return (w) => {
    const req = {
      uri: w.uri,
      principal: w.principal,
      conditions: w.conditions,
      lenient: w.lenient,
      roots: LocalRoots.forRequest(opts.publicRoots, w.origin, opts.root, w.defaultDomain),
    };
    if (w.method === 'DELETE') return service.delete(req);
    const body = w.body ?? new Uint8Array();
    return service.put(req, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), w.contentType);
  };
}

/**
 * In an HTTP worker of `serve`: a whole-document PUT runs here on `local` (the worker's
 * service validates it, and its DocumentWriter sends only the store write to the primary),
 * since validation is most of its cost and replacing a whole document needs no DOM. Every
 * other write goes to `primary` whole: an element, attribute or DELETE edit needs the
 * current document, and the primary's writers of one document take turns on its cached DOM,
 * so racing edits are never re-run or refused; so does a document with managed lists,
 * which is merged with the stored one.
 */
export function workerWrites(local: XcapWriter, primary: XcapWriter, service: Pick<XcapService, 'mergesWithStored'>): XcapWriter {
  return (w) => (w.method === 'PUT' && w.uri.selector === null && !service.mergesWithStored(w.uri) ? local(w) : primary(w));
}

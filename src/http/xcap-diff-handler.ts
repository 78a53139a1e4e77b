/**
 * `GET /xcap-diff`: the change feed as server-sent events (src/feed/sse-stream.ts).
 *
 * Authenticated like XCAP (Digest or Basic; realm: `auth.realm`, else the domain of the
 * one `user=` asked for, else the deployment's domain). Query filters, each repeatable,
 * all of them applying: `auid=`, `user=` (XUI), `sel=` (document selector relative to the
 * root, `resource-lists/users/sip:alice@example.com/index`). A user sees only their own
 * documents: `user=` or `sel=` naming someone else is 403, no `user=` means their own. An
 * admin sees any, everything without filters. `Last-Event-ID` resumes (see the stream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeploymentDomain } from '../auth/deployment-domain.ts';
import type { FeedClock } from '../feed/clock.ts';
import { compileFilter, parseDocSelector } from '../feed/filter.ts';
import type { FeedHub } from '../feed/hub.ts';
import { XcapDiffStream } from '../feed/sse-stream.ts';
import type { Logger } from '../log.ts';
import type { DocumentStore } from '../store/types.ts';
import { Forbidden, MethodNotAllowed } from '../xcap/errors.ts';
import { canonicalXui } from '../xcap/uri.ts';
import { renderError } from './error-handler.ts';
import { requestId } from './request-id.ts';
import type { Authenticator } from './xcap-handler.ts';
import { isEncrypted, requestOrigin } from './tls.ts';

/** The path this handler answers. */
export const XCAP_DIFF_PATH = '/xcap-diff';

export interface XcapDiffHandlerOptions {
  readonly store: DocumentStore;
  readonly hub: FeedHub;
  readonly auth: Authenticator;
  /** Fixed realm (`auth.realm`), if any. */
  readonly realm: string | undefined;
  readonly domain: DeploymentDomain;
  /** `server.root`, for the `xcap-root` of each body when no public root is configured. */
  readonly root: string;
  /** `server.publicRoots`: the first is written as the `xcap-root` of each body. */
  readonly publicRoots: readonly string[];
  readonly clock: FeedClock;
  readonly heartbeatMs: number;
  readonly log: Logger;
}

export interface XcapDiffHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open stream (shutdown). */
  closeAll(): void;
  /** Streams open now. */
  readonly open: number;
}

export function createXcapDiffHandler(o: XcapDiffHandlerOptions): XcapDiffHandler {
  const streams = new Set<XcapDiffStream>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') throw new MethodNotAllowed(['GET']);
    const url = new URL(req.url ?? '/', 'http://x');
    const defaultDomain = await o.domain.current();
    const users = url.searchParams.getAll('user').map((u) => canonicalXui(u, defaultDomain));
    const auids = url.searchParams.getAll('auid');
    const sels = url.searchParams.getAll('sel');
    const keys = sels.map(parseDocSelector);
    const realm = o.realm ?? (users.length === 1 ? (users[0] as string).slice((users[0] as string).lastIndexOf('@') + 1) : await o.domain.require());
    const principal = await o.auth.authenticate({ method: 'GET', url: req.url ?? '/', headers: req.headers, encrypted: isEncrypted(req) }, realm);
    if (!principal.admin) {
      if (users.some((u) => u !== principal.xui)) throw new Forbidden('a user may follow only their own documents');
      if (keys.some((k) => k.xui !== principal.xui)) throw new Forbidden('a user may follow only their own documents');
    }
    const lastEventId = parseLastEventId(req.headers['last-event-id']);
    const filter = compileFilter({
      ...(auids.length ? { auids } : {}),
      ...(users.length ? { users } : principal.admin ? {} : { users: [principal.xui] }),
      ...(sels.length ? { documents: sels } : {}),
    });
    const stream = new XcapDiffStream({
      res,
      hub: o.hub,
      store: o.store,
      filter,
      xcapRoot: o.publicRoots[0] ?? `${requestOrigin(req) ?? 'http://localhost'}${o.root}`,
      clock: o.clock,
      heartbeatMs: o.heartbeatMs,
      log: o.log,
      onEnd: () => streams.delete(stream),
    });
    streams.add(stream);
    await stream.start(lastEventId);
  }

  return {
    handle(req, res) {
      handle(req, res).catch((err: unknown) => {
        if (res.headersSent) res.end();
        else renderError(err, res, o.log, requestId(req));
      });
    },
    closeAll() {
      for (const s of [...streams]) s.close();
    },
    get open() {
      return streams.size;
    },
  };
}

/** A change-feed position, or undefined (full state) for anything else. */
function parseLastEventId(v: string | string[] | undefined): number | undefined {
  return typeof v === 'string' && /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : undefined;
}

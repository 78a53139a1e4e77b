/**
 * The admin API on the express side of the server (JSON; admins only, same Digest/Basic
 * credentials as XCAP): sync status, open conflicts and their resolution, manual runs.
 *
 *   GET  /admin/sync/status                     per binding: stale flag and reason (sync/health.ts);
 *                                               per document: last run, error, open conflicts;
 *                                               per webhook / presence server: last success, failures
 *   GET  /admin/sync/conflicts[?binding=NAME]   open conflicts with both sides' fields
 *   POST /admin/sync/resolve  {binding, scope, item, take: "xcap"|"remote"}   then queues a run
 *   POST /admin/sync/run      {binding, scope?}  queues a run
 *
 * Every request under /admin is authenticated before anything else is read, the body
 * included. Bindings must be configured and a scope must be `global` for a global binding or
 * an existing user's XUI, so a typo cannot start syncing a document nobody owns. Every
 * error, express's own included, leaves through the one renderer (src/http/error-handler.ts)
 * as JSON.
 */
import express from 'express';
import type { UserSource } from '../auth/types.ts';
import type { HookStatus } from '../feed/hooks/status.ts';
import type { Logger } from '../log.ts';
import { GLOBAL_SCOPE, type BindingConfig } from '../sync/binding.ts';
import { readHealth } from '../sync/health.ts';
import type { SyncState } from '../sync/state.ts';
import type { SyncHandle } from '../sync/queue.ts';
import { BadRequest, Forbidden, MethodNotAllowed, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType, type HttpError } from '../xcap/errors.ts';
import { renderError } from './error-handler.ts';
import type { Authenticator } from './xcap-handler.ts';

export interface AdminOptions {
  auth: Authenticator;
  /** The realm admins authenticate in (the global tree's). */
  realm: () => Promise<string>;
  state: SyncState;
  sync: SyncHandle | undefined;
  /** The configured bindings: anything else is 404. */
  bindings: readonly BindingConfig[];
  /** Users a scope may name. */
  users: Pick<UserSource, 'find'>;
  /** Delivery state of the configured webhooks and presence servers (`hooks` in the status answer). */
  hooks: () => Promise<readonly HookStatus[]>;
  log: Logger;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

/** Largest JSON body accepted, in bytes. */
const MAX_BODY = 16 * 1024;
const ROUTES: Record<string, readonly string[]> = {
  '/admin/sync/status': ['GET'],
  '/admin/sync/conflicts': ['GET'],
  '/admin/sync/resolve': ['POST'],
  '/admin/sync/run': ['POST'],
};
const parseJson = express.json({ limit: MAX_BODY, type: () => true });

export function mountAdmin(app: express.Express, opts: AdminOptions): void {
  const fail = (err: unknown, req: express.Request, res: express.Response) =>
    renderError(err, res, opts.log, String(req.headers['x-request-id'] ?? 'admin'), 'json');
  const guarded = (fn: Handler): express.RequestHandler => (req, res) => {
    const run = async () => {
      const principal = await opts.auth.authenticate({ method: req.method, url: req.originalUrl, headers: req.headers }, await opts.realm());
      if (!principal.admin) throw new Forbidden('admins only');
      await fn(req, res);
    };
    run().catch((err: unknown) => fail(err, req, res));
  };

  function bindingNamed(name: string): BindingConfig {
    const b = opts.bindings.find((x) => x.name === name);
    if (b === undefined) throw new NotFound(`no binding named ${name}`);
    return b;
  }

  async function checkScope(b: BindingConfig, scope: string): Promise<void> {
    if (b.target.scope === 'global') {
      if (scope !== GLOBAL_SCOPE) throw new NotFound(`binding ${b.name} has only the scope ${GLOBAL_SCOPE}`);
    } else if ((await opts.users.find(scope)) === undefined) {
      throw new NotFound(`no user ${scope}`);
    }
  }

  app.get('/admin/sync/status', guarded(async (_req, res) => {
    const [scopes, conflicts, health, hooks] = await Promise.all([opts.state.listScopes(), opts.state.listConflicts(), readHealth(opts.state, opts.bindings), opts.hooks()]);
    const staleScope = new Map(health.flatMap((h) => h.scopes.map((s) => [`${h.binding}|${s.scope}`, s] as const)));
    res.json({
      running: opts.sync?.running() ?? false,
      stale: health.some((h) => h.stale),
      bindings: health.map(({ scopes: _, ...h }) => h),
      hooks,
      scopes: scopes.map((s) => {
        const h = staleScope.get(`${s.binding}|${s.scope}`);
        return { ...s, openConflicts: conflicts.filter((c) => c.binding === s.binding && c.scope === s.scope && !c.resolution).length, stale: h?.stale ?? false, staleReason: h?.reason ?? null };
      }),
    });
  }));

  app.get('/admin/sync/conflicts', guarded(async (req, res) => {
    const binding = typeof req.query.binding === 'string' ? bindingNamed(req.query.binding).name : undefined;
    res.json({ conflicts: await opts.state.listConflicts(binding) });
  }));

  app.post('/admin/sync/resolve', guarded(async (req, res) => {
    const { binding, scope, item, take } = await readJsonObject(req, res);
    if (typeof binding !== 'string' || typeof scope !== 'string' || typeof item !== 'string' || (take !== 'xcap' && take !== 'remote')) {
      throw new BadRequest('expected JSON {binding, scope, item, take: "xcap"|"remote"}');
    }
    await checkScope(bindingNamed(binding), scope);
    if (!(await opts.state.resolveConflict(binding, scope, item, take))) throw new NotFound(`no open conflict ${binding} ${scope} ${item}`);
    // Recorded either way: with sync off (Redis unreachable) the next run applies it.
    const queued = opts.sync?.running() === true;
    if (queued) await opts.sync?.enqueue(binding, scope);
    res.json({ resolved: true, queued });
  }));

  app.post('/admin/sync/run', guarded(async (req, res) => {
    const { binding, scope } = await readJsonObject(req, res);
    if (typeof binding !== 'string' || (scope !== undefined && typeof scope !== 'string')) throw new BadRequest('expected JSON {binding, scope?}');
    const b = bindingNamed(binding);
    if (scope !== undefined) await checkScope(b, scope);
    if (!opts.sync?.running()) throw new ServiceUnavailable('sync is off (Redis unreachable)');
    await opts.sync.enqueue(binding, scope);
    res.status(202).json({ queued: true });
  }));

  // Anything else under /admin: a known path with another method, or nothing at all.
  app.use('/admin', guarded(async (req) => {
    const allow = ROUTES[req.originalUrl.split('?')[0] as string];
    throw allow === undefined ? new NotFound('no such admin endpoint') : new MethodNotAllowed([...allow]);
  }));
  // Errors express raises itself (a path it cannot decode, say) get the same JSON, never its HTML page.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => fail(err, req, res));
}

/** The request body as a JSON object: 415 unless Content-Type is application/json, 413 past MAX_BODY, 400 unless an object. */
async function readJsonObject(req: express.Request, res: express.Response): Promise<Record<string, unknown>> {
  if (!req.is('application/json')) throw new UnsupportedMediaType('application/json');
  const body = await new Promise<unknown>((resolve, reject) => {
    parseJson(req, res, (err?: unknown) => (err === undefined ? resolve(req.body) : reject(bodyError(err))));
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('expected a JSON object');
  return body as Record<string, unknown>;
}

/** body-parser's errors as ours (its messages name parser internals). */
function bodyError(err: unknown): HttpError {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new PayloadTooLarge(MAX_BODY);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new UnsupportedMediaType('application/json; charset=utf-8');
  if (type === 'entity.parse.failed') return new BadRequest('body is not valid JSON');
  return new BadRequest('unreadable request body');
}

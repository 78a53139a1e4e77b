/**
 * The admin API on the express side of the server (JSON; admins only, same Digest/Basic
 * credentials as XCAP): sync status, bindings, runs, conflicts, users and their documents.
 *
 *   GET  /admin/sync/status                     per binding: stale flag and reason (sync/health.ts);
 *                                               per document: last run, error, open conflicts;
 *                                               per webhook / presence server: last success, failures
 *   GET  /admin/sync/conflicts[?binding=NAME]   open conflicts with both sides' fields
 *   POST /admin/sync/resolve  {binding, scope, item, take: "xcap"|"remote"}   then queues a run
 *   POST /admin/sync/run      {binding, scope?, full?}  queues a run
 *   GET  /admin/bindings, POST /admin/bindings/NAME/run   (admin/bindings.ts)
 *   GET|POST /admin/users, DELETE /admin/users/XUI, POST /admin/users/XUI/password,
 *   GET  /admin/users/XUI/documents                      (admin/users.ts)
 *   /admin/queues/                                       the queue dashboard (admin/queues.ts)
 *   GET /admin/, POST /admin/ui/*                         the status page (admin/status-page.ts)
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
import type { BindingStatus } from '../sync/binding-status.ts';
import { mountBindingRoutes, type BindingRoutesOptions } from './admin/bindings.ts';
import { mountQueueDashboard, type QueueRoutesOptions } from './admin/queues.ts';
import { mountStatusPage, type StatusPageOptions } from './admin/status-page.ts';
import { mountUserRoutes, type UserRoutesOptions } from './admin/users.ts';
import { BadRequest, Forbidden, MethodNotAllowed, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType, type HttpError } from '../xcap/errors.ts';
import { renderError } from './error-handler.ts';
import { requestId } from './request-id.ts';
import type { Authenticator } from './xcap-handler.ts';
import { isEncrypted } from './tls.ts';

export interface AdminOptions extends UserRoutesOptions, QueueRoutesOptions, BindingRoutesOptions, StatusPageOptions {
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
  /** Each binding's health, last and next run, lag, errors (sync/binding-status.ts). */
  bindingStatus: () => Promise<BindingStatus[]>;
  log: Logger;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

/** What the admin route modules share: the guard, JSON bodies, the checks of names. */
export interface AdminKit {
  /** Registers `path` (express syntax, `:param`) for `method`, admins only; the handler's errors go to the one renderer. */
  route(method: 'get' | 'post' | 'delete', path: string, fn: Handler): void;
  /** Authenticates an admin (before anything is read); throws 401/403. Routes find it in `res.locals.admin`. */
  admin(req: express.Request): Promise<{ readonly xui: string }>;
  /** Renders any error as the admin API's JSON. */
  fail(err: unknown, req: express.Request, res: express.Response): void;
  readJson(req: express.Request, res: express.Response): Promise<Record<string, unknown>>;
  /** An HTML form's fields (application/x-www-form-urlencoded): 415 otherwise, 413 past the limit. */
  readForm(req: express.Request, res: express.Response): Promise<Record<string, string>>;
  /** The configured binding, or 404 naming it. */
  bindingNamed(name: string): BindingConfig;
  /** 404 unless `scope` is `global` for a global binding or an existing user of a users binding. */
  checkScope(b: BindingConfig, scope: string): Promise<void>;
  /** Queues a run of `binding` (every scope, or `scope`), `full` to read both sides whole; 503 while sync is off. */
  run(binding: BindingConfig, scope: string | undefined, full: boolean): Promise<void>;
}

/** Largest JSON body accepted, in bytes. */
const MAX_BODY = 16 * 1024;
const parseJson = express.json({ limit: MAX_BODY, type: () => true });
const parseForm = express.urlencoded({ limit: MAX_BODY, extended: false, type: () => true });

/** Mounts the admin API; resolves the closer of what it holds open (the dashboard's Redis connection). */
export function mountAdmin(app: express.Express, opts: AdminOptions): () => Promise<void> {
  /** Known paths (as patterns) and their methods, for 405 versus 404. */
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  const fail = (err: unknown, req: express.Request, res: express.Response) =>
    renderError(err, res, opts.log, requestId(req), 'json');
  const admin = async (req: express.Request) => {
    const principal = await opts.auth.authenticate({ method: req.method, url: req.originalUrl, headers: req.headers, encrypted: isEncrypted(req) }, await opts.realm());
    if (!principal.admin) throw new Forbidden('admins only');
    return principal;
  };
  const guarded = (fn: Handler): express.RequestHandler => (req, res) => {
    const run = async () => {
      res.locals.admin = await admin(req);
      await fn(req, res);
    };
    run().catch((err: unknown) => fail(err, req, res));
  };
  const route = (method: 'get' | 'post' | 'delete', path: string, fn: Handler) => {
    const pattern = new RegExp(`^${path.replace(/:[a-z]+/g, '[^/]+')}$`);
    const known = routes.find((r) => r.pattern.source === pattern.source);
    if (known) known.methods.push(method.toUpperCase());
    else routes.push({ pattern, methods: [method.toUpperCase()] });
    app[method](path, guarded(fn));
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

  async function run(b: BindingConfig, scope: string | undefined, full: boolean): Promise<void> {
    if (scope !== undefined) await checkScope(b, scope);
    if (!opts.sync?.running()) throw new ServiceUnavailable('sync is off (Redis unreachable)');
    await opts.sync.enqueue(b.name, scope, { full });
  }

  const kit: AdminKit = { route, admin, fail, readJson: readJsonObject, readForm, bindingNamed, checkScope, run };

  route('get', '/admin/sync/status', async (_req, res) => {
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
  });

  route('get', '/admin/sync/conflicts', async (req, res) => {
    const binding = typeof req.query.binding === 'string' ? bindingNamed(req.query.binding).name : undefined;
    res.json({ conflicts: await opts.state.listConflicts(binding) });
  });

  route('post', '/admin/sync/resolve', async (req, res) => {
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
  });

  route('post', '/admin/sync/run', async (req, res) => {
    const { binding, scope, full } = await readJsonObject(req, res);
    if (typeof binding !== 'string' || (scope !== undefined && typeof scope !== 'string') || (full !== undefined && typeof full !== 'boolean')) {
      throw new BadRequest('expected JSON {binding, scope?, full?: boolean}');
    }
    await run(bindingNamed(binding), scope, full === true);
    res.status(202).json({ queued: true });
  });

  mountBindingRoutes(kit, opts);
  mountUserRoutes(kit, opts);
  mountStatusPage(kit, opts);
  const closeDashboard = mountQueueDashboard(app, kit, opts);

  // Anything else under /admin: a known path with another method, or nothing at all.
  app.use('/admin', guarded(async (req) => {
    const path = req.originalUrl.split('?')[0] as string;
    const allow = routes.find((r) => r.pattern.test(path))?.methods;
    throw allow === undefined ? new NotFound('no such admin endpoint') : new MethodNotAllowed([...allow]);
  }));
  // Errors express raises itself (a path it cannot decode, say) get the same JSON, never its HTML page.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => fail(err, req, res));
  return closeDashboard;
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

/** The form fields of an urlencoded body (repeated names: the first); errors as readJsonObject's. */
async function readForm(req: express.Request, res: express.Response): Promise<Record<string, string>> {
  if (!req.is('application/x-www-form-urlencoded')) throw new UnsupportedMediaType('application/x-www-form-urlencoded');
  const body = await new Promise<unknown>((resolve, reject) => {
    parseForm(req, res, (err?: unknown) => (err === undefined ? resolve(req.body) : reject(bodyError(err))));
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** body-parser's errors as ours (its messages name parser internals). */
function bodyError(err: unknown): HttpError {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new PayloadTooLarge(MAX_BODY);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new UnsupportedMediaType('application/json; charset=utf-8');
  if (type === 'entity.parse.failed') return new BadRequest('body is not valid JSON');
  return new BadRequest('unreadable request body');
}

/**
 * The admin API on the express side of the server (JSON; admins only, same Digest/Basic
 * credentials as XCAP): sync status, open conflicts and their resolution, manual runs.
 *
 *   GET  /admin/sync/status                     last run, error and open conflicts per binding and document
 *   GET  /admin/sync/conflicts[?binding=NAME]   open conflicts with both sides' fields
 *   POST /admin/sync/resolve  {binding, scope, item, take: "xcap"|"remote"}   then queues a run
 *   POST /admin/sync/run      {binding, scope?}  queues a run
 *
 * Errors use the one renderer (src/http/error-handler.ts), as on the XCAP path.
 */
import express from 'express';
import type { Logger } from '../log.ts';
import type { SyncState } from '../sync/state.ts';
import type { SyncHandle } from '../sync/queue.ts';
import { BadRequest, Forbidden, NotFound, ServiceUnavailable } from '../xcap/errors.ts';
import { renderError } from './error-handler.ts';
import type { Authenticator } from './xcap-handler.ts';

export interface AdminOptions {
  auth: Authenticator;
  realm: string;
  state: SyncState;
  sync: SyncHandle | undefined;
  log: Logger;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

export function mountAdmin(app: express.Express, opts: AdminOptions): void {
  const guarded = (fn: Handler): express.RequestHandler => (req, res) => {
    const run = async () => {
      const principal = await opts.auth.authenticate({ method: req.method, url: req.originalUrl, headers: req.headers }, opts.realm);
      if (!principal.admin) throw new Forbidden('admins only');
      await fn(req, res);
    };
    run().catch((err: unknown) => renderError(err, res, opts.log, String(req.headers['x-request-id'] ?? 'admin')));
  };

  app.get('/admin/sync/status', guarded(async (_req, res) => {
    const [scopes, conflicts] = await Promise.all([opts.state.listScopes(), opts.state.listConflicts()]);
    res.json({
      running: opts.sync?.running() ?? false,
      scopes: scopes.map((s) => ({ ...s, openConflicts: conflicts.filter((c) => c.binding === s.binding && c.scope === s.scope && !c.resolution).length })),
    });
  }));

  app.get('/admin/sync/conflicts', guarded(async (req, res) => {
    const binding = typeof req.query.binding === 'string' ? req.query.binding : undefined;
    res.json({ conflicts: await opts.state.listConflicts(binding) });
  }));

  app.post('/admin/sync/resolve', express.json({ limit: '16kb' }), guarded(async (req, res) => {
    const { binding, scope, item, take } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof binding !== 'string' || typeof scope !== 'string' || typeof item !== 'string' || (take !== 'xcap' && take !== 'remote')) {
      throw new BadRequest('expected JSON {binding, scope, item, take: "xcap"|"remote"}');
    }
    if (!(await opts.state.resolveConflict(binding, scope, item, take))) throw new NotFound(`no open conflict ${binding} ${scope} ${item}`);
    await opts.sync?.enqueue(binding, scope);
    res.json({ resolved: true, queued: opts.sync !== undefined });
  }));

  app.post('/admin/sync/run', express.json({ limit: '16kb' }), guarded(async (req, res) => {
    const { binding, scope } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof binding !== 'string' || (scope !== undefined && typeof scope !== 'string')) throw new BadRequest('expected JSON {binding, scope?}');
    if (!opts.sync?.running()) throw new ServiceUnavailable('sync is off (no bindings or Redis unreachable)');
    await opts.sync.enqueue(binding, scope);
    res.status(202).json({ queued: true });
  }));
}

/**
 * The admin API's bindings:
 *
 *   GET  /admin/bindings              each binding: health, last and next run, lag, failing
 *                                     documents, last error, open conflicts (sync/binding-status.ts)
 *   POST /admin/bindings/NAME/run     {scope?, full?} or no body: queues a run of every document
 *                                     (or of `scope`); `full: true` reads both sides whole
 */
import type { BindingStatus } from '../../sync/binding-status.ts';
import type { SyncHandle } from '../../sync/queue.ts';
import { BadRequest } from '../../xcap/errors.ts';
import type { AdminKit } from '../admin.ts';

export interface BindingRoutesOptions {
  readonly sync: Pick<SyncHandle, 'running'> | undefined;
  readonly bindingStatus: () => Promise<BindingStatus[]>;
}

export function mountBindingRoutes(kit: AdminKit, opts: BindingRoutesOptions): void {
  kit.route('get', '/admin/bindings', async (_req, res) => {
    res.json({ running: opts.sync?.running() ?? false, bindings: await opts.bindingStatus() });
  });

  kit.route('post', '/admin/bindings/:name/run', async (req, res) => {
    const b = kit.bindingNamed(String(req.params.name));
    // A bare POST (no body) runs every document: what a button or `curl -X POST` sends.
    const empty = req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined);
    const { scope, full } = empty ? {} : await kit.readJson(req, res);
    if ((scope !== undefined && typeof scope !== 'string') || (full !== undefined && typeof full !== 'boolean')) throw new BadRequest('expected JSON {scope?: string, full?: boolean}');
    await kit.run(b, scope, full === true);
    res.status(202).json({ queued: true, binding: b.name, scope: scope ?? null, full: full === true });
  });
}

/**
 * What load balancers, orchestrators and Prometheus ask, without credentials:
 *
 *   GET /healthz   200 `ok`: the process is up and its HTTP loop answers (liveness).
 *   GET /readyz    200 when this process can serve: the store answers and, when bindings
 *                  are configured, so does the sync queue's Redis; 503 otherwise. The JSON
 *                  says which check failed and why, and gives each binding's last run,
 *                  lag, staleness and last error. A stale binding does not make the
 *                  process unready: the XCAP side serves from its own store, and taking
 *                  every replica out of rotation because a directory is down would turn
 *                  a sync delay into an outage (alert on xcap_bridge_sync_stale instead).
 *   GET /metrics   Prometheus text exposition (src/metrics/), every process's counts
 *                  with `serve --workers N`.
 */
import type express from 'express';
import type { Logger } from '../log.ts';
import type { DocumentStore } from '../store/types.ts';
import type { BindingStatus } from '../sync/binding-status.ts';

export interface ProbeOptions {
  readonly store: DocumentStore;
  /** Checks Redis when bindings are configured (`null`: answers); `undefined` when sync is not configured. */
  readonly redis: { check(): Promise<string | null> } | undefined;
  readonly bindings: () => Promise<BindingStatus[]>;
  /** The metrics text and its content type; `undefined` turns /metrics off (404). */
  readonly metrics: { readonly contentType: string; text(): Promise<string> } | undefined;
  readonly log: Logger;
}

/** Milliseconds the store check waits: a probe must answer, not hang with a stuck database. */
const STORE_WAIT_MS = 2000;

interface Check {
  readonly name: 'store' | 'redis';
  readonly ok: boolean;
  readonly reason: string | null;
}

export function mountProbes(app: express.Express, opts: ProbeOptions): void {
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    void readiness(opts).then((body) => {
      res.status(body.ready ? 200 : 503).set('Cache-Control', 'no-store').json(body);
    });
  });
  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', (_req, res) => {
      metrics.text().then(
        (text) => res.status(200).set('Content-Type', metrics.contentType).set('Cache-Control', 'no-store').send(text),
        (err: unknown) => {
          opts.log.warn({ err: (err as Error).message }, 'metrics scrape failed');
          res.status(503).type('text/plain').send(`metrics unavailable: ${(err as Error).message}\n`);
        },
      );
    });
  }
}

/** The /readyz body: never throws (a failing check is the answer). */
async function readiness(opts: ProbeOptions): Promise<{ ready: boolean; checks: Check[]; bindings: BindingStatus[] }> {
  const checks: Check[] = [];
  let bindings: BindingStatus[] = [];
  try {
    // Reading the sync state is the store check: the same database, the same connection pool.
    bindings = await within(opts.bindings(), STORE_WAIT_MS);
    checks.push({ name: 'store', ok: true, reason: null });
  } catch (err) {
    checks.push({ name: 'store', ok: false, reason: `the document store does not answer: ${(err as Error).message}` });
  }
  if (opts.redis) {
    const reason = await opts.redis.check();
    checks.push({ name: 'redis', ok: reason === null, reason: reason === null ? null : `${reason}; sync is off, XCAP keeps serving` });
  }
  return { ready: checks.every((c) => c.ok), checks, bindings };
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}

/**
 * The Prometheus metrics of one process (prom-client 15, a registry of its own, never the
 * global one). Every family is named here, so docs/troubleshooting.md can list them all
 * (a test compares the two).
 *
 * Three kinds, fed three ways:
 * - request counts and latencies: `observeRequest`, called by the HTTP server per request;
 * - sync runs, items, conflicts and errors: `observeRun`, called by the sync workers;
 * - what is stored now (documents, users, open conflicts, lag, staleness, queue depth and
 *   lag): read from a `StateSource` at scrape time, so the figure is the store's, not a
 *   count this process kept. With `serve --workers N` only the process that runs the sync
 *   engine reads them (see cluster.ts), or every worker would count the same rows.
 *
 * Label values are bounded: methods outside the usual set are `other`, an auid the
 * server does not know is `unknown`, requests outside the XCAP root are `none`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats, RunEvent } from '../sync/queue.ts';

/** Prefix of every metric family this project defines. */
export const METRIC_PREFIX = 'xcap_bridge_';

/** Method label values; anything else is the last, `other`. */
const METHODS = ['GET', 'PUT', 'DELETE', 'HEAD', 'POST', 'OPTIONS', 'PATCH', 'other'];
/** Seconds; XCAP answers in about a millisecond, validated PUTs of big documents in tens. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/** Per binding, as the sync state says now. */
export interface BindingFigures {
  readonly binding: string;
  readonly stale: boolean;
  readonly openConflicts: number;
  /** Seconds since the least recently synced document last synced successfully; `null` before any. */
  readonly lagSeconds: number | null;
}

/** Where the scrape-time gauges read from. Each method is called once per scrape. */
export interface StateSource {
  /** Stored documents by auid. */
  documents(): Promise<ReadonlyMap<string, number>>;
  /** Users in the local user table. */
  users(): Promise<number>;
  bindings(): Promise<readonly BindingFigures[]>;
  /** `undefined` while sync is off (no bindings, Redis unreachable). */
  queue(): Promise<QueueStats | undefined>;
}

export interface MetricsOptions {
  /** Auids the server serves (label values of requests); others are `unknown`. */
  readonly auids: Iterable<string>;
  /** The XCAP root path (`/xcap-root`): the auid is the segment after it. */
  readonly root: string;
}

/** Latency of one method and auid (counts per bucket, not cumulative), and its requests by status. */
interface Cell {
  readonly method: string;
  readonly auid: string;
  readonly perBucket: Float64Array;
  sum: number;
  count: number;
  readonly byStatus: Map<number, { count: number }>;
}

/**
 * The two request families, counted by hand: prom-client's labelled children hash their
 * labels on every update (microseconds per request); here a request is an array index (its
 * method and auid, found without building a string) and one Map lookup by status number.
 * Registered as prom-client metric objects (`get()` in its JSON form), so the registry
 * prints them and the cluster aggregation sums them.
 */
class RequestFamilies {
  readonly #auids: readonly string[];
  /** By `auidIndex * methods + methodIndex`; auids are the known ones, then `unknown`, `none`. */
  readonly #cells: (Cell | undefined)[] = [];

  constructor(registry: Registry, auids: readonly string[]) {
    this.#auids = [...auids, 'unknown', 'none'];
    const cells = () => this.#cells.filter((c): c is Cell => c !== undefined);
    registry.registerMetric(metricObject(`${METRIC_PREFIX}http_requests_total`, 'HTTP requests answered, by method, application usage (auid) and status.', 'counter', () =>
      cells().flatMap((c) => [...c.byStatus].map(([status, s]) => ({ labels: { method: c.method, auid: c.auid, status: String(status) }, value: s.count }))),
    ));
    const name = `${METRIC_PREFIX}http_request_duration_seconds`;
    registry.registerMetric(metricObject(name, 'Time from request to response in seconds, by method and application usage.', 'histogram', () =>
      cells().flatMap((c) => {
        const labels = { method: c.method, auid: c.auid };
        let cumulative = 0;
        return [
          ...LATENCY_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: (cumulative += c.perBucket[i] as number) })),
          { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: c.count },
          { metricName: `${name}_sum`, labels, value: c.sum },
          { metricName: `${name}_count`, labels, value: c.count },
        ];
      }),
    ));
  }

  /** `auid` indexes the auids given to the constructor, then `unknown`, then `none`. */
  observe(method: number, auid: number, status: number, seconds: number): void {
    const at = auid * METHODS.length + method;
    let c = this.#cells[at];
    if (c === undefined) {
      c = { method: METHODS[method] as string, auid: this.#auids[auid] as string, perBucket: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0, byStatus: new Map() };
      this.#cells[at] = c;
    }
    const s = c.byStatus.get(status);
    if (s === undefined) c.byStatus.set(status, { count: 1 });
    else s.count++;
    c.count++;
    c.sum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    if (i < LATENCY_BUCKETS.length) (c.perBucket[i] as number)++;
  }
}

/** A metric in the shape prom-client's Registry reads from its own (`get()`, `aggregator`). */
function metricObject(name: string, help: string, type: 'counter' | 'histogram', values: () => object[]): Parameters<Registry['registerMetric']>[0] {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }), reset: () => {} } as unknown as Parameters<Registry['registerMetric']>[0];
}

export class Metrics {
  readonly registry = new Registry();
  readonly #auids: readonly string[];
  readonly #root: string;
  readonly #requests: RequestFamilies;
  readonly #runs: Counter<'binding' | 'outcome'>;
  readonly #runSeconds: Histogram<'binding'>;
  readonly #items: Counter<'binding' | 'side' | 'op'>;
  readonly #conflicts: Counter<'binding'>;
  readonly #errors: Counter<'binding'>;

  constructor(opts: MetricsOptions) {
    this.#auids = [...opts.auids];
    this.#root = opts.root;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new RequestFamilies(this.registry, this.#auids);
    this.#runs = new Counter({ name: `${METRIC_PREFIX}sync_runs_total`, help: 'Sync runs of one binding and document, by outcome (applied, unchanged, refused, failed).', labelNames: ['binding', 'outcome'], registers });
    this.#runSeconds = new Histogram({ name: `${METRIC_PREFIX}sync_run_duration_seconds`, help: 'Duration of sync runs, by binding.', labelNames: ['binding'], buckets: RUN_BUCKETS, registers });
    this.#items = new Counter({ name: `${METRIC_PREFIX}sync_items_total`, help: 'Items written by sync runs, by binding, side (xcap, remote) and operation (create, update, delete).', labelNames: ['binding', 'side', 'op'], registers });
    this.#conflicts = new Counter({ name: `${METRIC_PREFIX}sync_conflicts_total`, help: 'Conflicts sync runs found (an item changed on both sides under the manual policy), by binding.', labelNames: ['binding'], registers });
    this.#errors = new Counter({ name: `${METRIC_PREFIX}sync_errors_total`, help: 'Sync runs that failed (each attempt; retried runs count again), by binding.', labelNames: ['binding'], registers });
  }

  /** One answered request; `seconds` from its arrival. Called on every request. */
  observeRequest(method: string, url: string, status: number, seconds: number): void {
    const m = METHODS.indexOf(method);
    this.#requests.observe(m < 0 ? METHODS.length - 1 : m, this.#auidIndex(url), status, seconds);
  }

  /** One finished or failed sync run (the sync workers' `onRun`). */
  observeRun(r: RunEvent): void {
    this.#runs.labels(r.binding, r.outcome).inc();
    this.#runSeconds.labels(r.binding).observe(r.seconds);
    if (r.outcome === 'failed') this.#errors.labels(r.binding).inc();
    const report = r.report;
    if (!report) return;
    if (report.conflicts) this.#conflicts.labels(r.binding).inc(report.conflicts);
    // A refused run wrote nothing: its counts are the plan it refused.
    if (report.outcome !== 'applied') return;
    for (const side of ['xcap', 'remote'] as const) {
      for (const op of ['create', 'update', 'delete'] as const) if (report[side][op]) this.#items.labels(r.binding, side, op).inc(report[side][op]);
    }
  }

  /** Adds the gauges read from `source` at scrape time (once per process that should report them). */
  addState(source: StateSource): void {
    const registers = [this.registry];
    new Gauge({
      name: `${METRIC_PREFIX}documents`, help: 'Stored XCAP documents, by application usage (auid).', labelNames: ['auid'], registers,
      async collect() {
        this.reset();
        for (const [auid, n] of await source.documents()) this.labels(auid).set(n);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}users`, help: 'Users in the local user table.', registers,
      async collect() {
        this.set(await source.users());
      },
    });
    // One read of the sync state feeds the three per-binding gauges of a scrape.
    let figures: Promise<readonly BindingFigures[]> | undefined;
    const bindings = () => (figures ??= source.bindings().finally(() => setImmediate(() => (figures = undefined))));
    const perBinding = (name: string, help: string, value: (b: BindingFigures) => number | null) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`, help, labelNames: ['binding'], registers,
        async collect() {
          this.reset();
          for (const b of await bindings()) {
            const v = value(b);
            if (v !== null) this.labels(b.binding).set(v);
          }
        },
      });
    perBinding('sync_stale', '1 when a binding missed two scheduled ticks or a document of it has not synced for two intervals (see /readyz for the reason).', (b) => (b.stale ? 1 : 0));
    perBinding('sync_open_conflicts', 'Conflicts waiting for an operator (admin page, `sync resolve`), by binding.', (b) => b.openConflicts);
    perBinding('sync_lag_seconds', "Seconds since the binding's least recently synced document last synced successfully.", (b) => b.lagSeconds);
    let stats: Promise<QueueStats | undefined> | undefined;
    const queue = () => (stats ??= source.queue().finally(() => setImmediate(() => (stats = undefined))));
    new Gauge({
      name: `${METRIC_PREFIX}queue_jobs`, help: 'Sync queue jobs by state (waiting, active, delayed, prioritized, failed, completed, waiting-children); absent while sync is off.', labelNames: ['state'], registers,
      async collect() {
        this.reset();
        const s = await queue();
        if (s) for (const [state, n] of Object.entries(s.counts)) this.labels(state).set(n);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_lag_seconds`, help: 'Age of the oldest waiting sync job in seconds (0 when none waits); absent while sync is off.', registers,
      async collect() {
        this.reset();
        const s = await queue();
        if (s) this.set(s.oldestWaitingAt === null ? 0 : Math.max(0, (Date.now() - s.oldestWaitingAt) / 1000));
      },
    });
  }

  /** The exposition text of this process alone. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Index of the request's auid among the known ones; then `unknown`, then `none` (outside the root). */
  #auidIndex(url: string): number {
    const root = this.#root;
    const unknown = this.#auids.length;
    if (!url.startsWith(root)) return unknown + 1;
    // The root may carry a realm suffix (`/xcap-root@example.com/...`).
    const c = url.charCodeAt(root.length);
    if (c !== 47 /* / */ && c !== 64 /* @ */) return url.length === root.length ? unknown : unknown + 1;
    const start = url.indexOf('/', root.length) + 1;
    if (start === 0) return unknown;
    // Compared in place: no string is made per request.
    for (let i = 0; i < this.#auids.length; i++) {
      const a = this.#auids[i] as string;
      if (!url.startsWith(a, start)) continue;
      const after = url.charCodeAt(start + a.length);
      if (after === 47 || after === 63 /* ? */ || Number.isNaN(after)) return i;
    }
    return unknown;
  }
}

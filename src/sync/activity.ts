/**
 * Sync activity over time, for the status page's chart: per binding and 5-minute bucket,
 * how many runs finished, how many failed and how many items they wrote. Kept in the
 * documents' database (table `sync_activity`) by the process that runs the jobs, so any
 * process serving the page reads the same figures; buckets older than a day are dropped.
 */
import type { SqlRunner } from '../store/types.ts';
import type { RunEvent } from './queue.ts';

/** Width of one bucket in milliseconds. */
export const BUCKET_MS = 5 * 60 * 1000;
/** How long buckets are kept, in milliseconds. */
const KEEP_MS = 24 * 60 * 60 * 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sync_activity (
  binding TEXT NOT NULL,
  bucket BIGINT NOT NULL,
  runs INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  items INTEGER NOT NULL,
  PRIMARY KEY (binding, bucket)
);
`;

export interface ActivityBucket {
  readonly binding: string;
  /** Start of the bucket, ms since the epoch. */
  readonly bucket: number;
  readonly runs: number;
  readonly errors: number;
  readonly items: number;
}

export class SyncActivity {
  readonly #sql: SqlRunner;
  readonly #now: () => number;
  #lastPrune = 0;

  private constructor(sql: SqlRunner, now: () => number) {
    this.#sql = sql;
    this.#now = now;
  }

  static async open(sql: SqlRunner, now: () => number = Date.now): Promise<SyncActivity> {
    await sql.exec(SCHEMA);
    return new SyncActivity(sql, now);
  }

  /** Counts one run into its bucket (and drops day-old buckets, at most once a bucket). */
  async record(e: RunEvent): Promise<void> {
    const t = this.#now();
    const bucket = t - (t % BUCKET_MS);
    const r = e.report;
    const items = r && r.outcome === 'applied' ? sum(r.xcap) + sum(r.remote) : 0;
    await this.#sql.run(
      `INSERT INTO sync_activity (binding, bucket, runs, errors, items) VALUES (?, ?, 1, ?, ?)
       ON CONFLICT (binding, bucket) DO UPDATE SET runs = sync_activity.runs + 1, errors = sync_activity.errors + excluded.errors, items = sync_activity.items + excluded.items`,
      [e.binding, bucket, e.outcome === 'failed' ? 1 : 0, items],
    );
    if (bucket > this.#lastPrune) {
      this.#lastPrune = bucket;
      await this.#sql.run('DELETE FROM sync_activity WHERE bucket < ?', [bucket - KEEP_MS]);
    }
  }

  /** Buckets of the last `spanMs` (default: a day), oldest first. */
  async recent(spanMs = KEEP_MS): Promise<ActivityBucket[]> {
    const rows = await this.#sql.query<Record<string, string | number>>('SELECT binding, bucket, runs, errors, items FROM sync_activity WHERE bucket >= ? ORDER BY bucket', [this.#now() - spanMs]);
    return rows.map((r) => ({ binding: String(r.binding), bucket: Number(r.bucket), runs: Number(r.runs), errors: Number(r.errors), items: Number(r.items) }));
  }
}

function sum(c: { create: number; update: number; delete: number }): number {
  return c.create + c.update + c.delete;
}

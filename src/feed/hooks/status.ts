/**
 * What `sync status` and the admin API show about webhooks and presence servers: per
 * target, the last success, the last failure and how many attempts in a row failed. Kept
 * in the documents' database (table `feed_hook_status`), so it is readable without Redis.
 */
import type { SqlRunner } from '../../store/types.ts';

export interface HookStatus {
  readonly target: string;
  readonly kind: 'webhook' | 'kamailio' | 'opensips';
  readonly lastOkAt: number | null;
  readonly lastErrorAt: number | null;
  readonly lastError: string | null;
  /** Failed attempts since the last success. */
  readonly failures: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS feed_hook_status (
  target TEXT PRIMARY KEY, kind TEXT NOT NULL, last_ok_at BIGINT, last_error_at BIGINT, last_error TEXT, failures INTEGER NOT NULL)`;

export class HookStatusTable {
  readonly #sql: SqlRunner;

  private constructor(sql: SqlRunner) {
    this.#sql = sql;
  }

  static async open(sql: SqlRunner): Promise<HookStatusTable> {
    await sql.exec(SCHEMA);
    return new HookStatusTable(sql);
  }

  async ok(target: string, kind: HookStatus['kind'], at: number): Promise<void> {
    await this.#sql.run(
      `INSERT INTO feed_hook_status (target, kind, last_ok_at, failures) VALUES (?, ?, ?, 0)
       ON CONFLICT (target) DO UPDATE SET kind = excluded.kind, last_ok_at = excluded.last_ok_at, failures = 0`,
      [target, kind, at],
    );
  }

  async failed(target: string, kind: HookStatus['kind'], at: number, error: string): Promise<void> {
    await this.#sql.run(
      `INSERT INTO feed_hook_status (target, kind, last_error_at, last_error, failures) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (target) DO UPDATE SET kind = excluded.kind, last_error_at = excluded.last_error_at, last_error = excluded.last_error,
         failures = feed_hook_status.failures + 1`,
      [target, kind, at, error.slice(0, 500)],
    );
  }

  async list(): Promise<HookStatus[]> {
    const rows = await this.#sql.query<{ target: string; kind: string; last_ok_at: unknown; last_error_at: unknown; last_error: string | null; failures: unknown }>(
      'SELECT target, kind, last_ok_at, last_error_at, last_error, failures FROM feed_hook_status ORDER BY target',
    );
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => ({
      target: r.target,
      kind: r.kind as HookStatus['kind'],
      lastOkAt: num(r.last_ok_at),
      lastErrorAt: num(r.last_error_at),
      lastError: r.last_error,
      failures: Number(r.failures),
    }));
  }
}

/** One line of `sync status` for a configured target (`status` undefined: nothing tried yet). */
export function hookStatusLine(name: string, kind: HookStatus['kind'], status: HookStatus | undefined): string {
  const label = kind === 'webhook' ? `webhook ${name}` : `presence server ${name} (${kind})`;
  if (status === undefined) return `${label}: nothing delivered yet`;
  const time = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString());
  if (status.failures > 0) return `${label}: FAILING (${status.failures} failed attempts, last ${time(status.lastErrorAt)}): ${status.lastError}; last success ${time(status.lastOkAt)}`;
  return `${label}: ok, last success ${time(status.lastOkAt)}`;
}

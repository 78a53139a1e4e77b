/**
 * Schema lint for sharding the PostgreSQL store by user (Citus, which is not installable
 * here): every table the product creates is opened on a fresh database, then the live
 * catalog (pg_catalog) is checked against the rules Citus imposes and the layout declared
 * in citus-layout.ts:
 * - every table is declared, distributed by an owner column or a reference table;
 * - a distributed table's owner column is NOT NULL, and every primary key, unique
 *   constraint, unique index and exclusion constraint includes it (Citus can only enforce
 *   uniqueness inside one shard); server-wide uniqueness lives in reference tables;
 * - tables colocated with each other have owner columns of one type and collation;
 * - a foreign key from a distributed table points at a reference table or a colocated
 *   table through the owner column; a reference table points at reference tables only;
 * - no triggers, and sequences of distributed tables are bigint (each node hands out its
 *   own range);
 * - docs/scaling.md gives exactly the calls of the layout, in order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { HookStatusTable } from '../../src/feed/hooks/status.ts';
import { DeviceTokens } from '../../src/phonebook/tokens.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import * as sqlCommon from '../../src/store/sql-common.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { SyncActivity } from '../../src/sync/activity.ts';
import { SyncState } from '../../src/sync/state.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { CITUS_LAYOUT, citusCalls, type TableLayout } from './citus-layout.ts';

const ROOT = join(import.meta.dirname, '..', '..');

let store: DocumentStore;
let client: pg.Client;

beforeAll(async () => {
  const url = await freshPostgresDatabase(inject('services').postgres, 'citus');
  store = await openPostgresStore(url);
  await LocalUsers.open(store.sql);
  await SyncState.open(store.sql);
  await SyncActivity.open(store.sql);
  await HookStatusTable.open(store.sql);
  await DeviceTokens.open(store.sql);
  client = new pg.Client({ connectionString: url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await store?.close();
});

const layout = new Map<string, TableLayout>(CITUS_LAYOUT.map((t) => [t.table, t]));
const ownerOf = (table: string): string | undefined => {
  const t = layout.get(table);
  return t && 'column' in t ? t.column : undefined;
};

async function rows<R extends Record<string, unknown>>(sql: string): Promise<R[]> {
  return (await client.query<R>(sql)).rows;
}

/** Names of the tables the sources create: literal names and the store's `${..._TABLE}` constants. */
function tablesInSources(): string[] {
  const constants = sqlCommon as unknown as Record<string, unknown>;
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/CREATE TABLE IF NOT EXISTS (?:\$\{(\w+)\}|(\w+))\s*\(/g)) {
          const name = m[2] ?? constants[m[1] as string];
          if (typeof name === 'string') out.add(name);
        }
      }
    }
  };
  walk(join(ROOT, 'src'));
  return [...out].sort();
}

describe('PostgreSQL schema: ready to shard by user (Citus)', () => {
  it('every table the sources create exists here and is declared in the layout, and nothing else is', async () => {
    const live = (await rows<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).map((r) => r.t);
    expect(live).toEqual(tablesInSources());
    expect(live).toEqual([...layout.keys()].sort());
  });

  it('the owner column of each distributed table exists and is NOT NULL', async () => {
    const cols = await rows<{ t: string; c: string; notnull: boolean }>(
      `SELECT c.relname AS t, a.attname AS c, a.attnotnull AS notnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
    );
    for (const t of CITUS_LAYOUT) {
      if (!('column' in t)) continue;
      expect(cols.find((c) => c.t === t.table && c.c === t.column), `${t.table}.${t.column}`).toMatchObject({ notnull: true });
    }
  });

  it('every primary key, unique constraint and unique index of a distributed table includes its owner column', async () => {
    const uniques = await rows<{ t: string; idx: string; cols: string[] }>(
      `SELECT c.relname AS t, i.relname AS idx,
              ARRAY(SELECT a.attname FROM unnest(x.indkey) AS k(attnum) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)::text[] AS cols
       FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND (x.indisunique OR x.indisexclusion)`,
    );
    const bad = uniques.filter((u) => ownerOf(u.t) !== undefined && !u.cols.includes(ownerOf(u.t) as string)).map((u) => `${u.t}: ${u.idx} (${u.cols.join(', ')})`);
    expect(bad).toEqual([]);
    // Each distributed table has a primary key (updates and deletes by key stay on one shard).
    const pks = new Set(uniques.filter((u) => u.idx.endsWith('_pkey')).map((u) => u.t));
    expect(CITUS_LAYOUT.filter((t) => 'column' in t && !pks.has(t.table)).map((t) => t.table)).toEqual([]);
  });

  it('colocated tables have owner columns of one type and collation', async () => {
    const types = await rows<{ t: string; c: string; type: string; coll: string | null }>(
      `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type, co.collname AS coll
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_collation co ON co.oid = a.attcollation WHERE n.nspname = 'public' AND a.attnum > 0`,
    );
    const typeOf = (table: string) => {
      const col = types.find((r) => r.t === table && r.c === ownerOf(table));
      return col && `${col.type} COLLATE ${col.coll}`;
    };
    for (const t of CITUS_LAYOUT) {
      if (!('column' in t) || t.colocateWith === undefined) continue;
      expect(ownerOf(t.colocateWith), `${t.table} is colocated with a distributed table`).toBeDefined();
      expect(typeOf(t.table), `${t.table}.${t.column} vs ${t.colocateWith}`).toBe(typeOf(t.colocateWith));
    }
  });

  it('foreign keys: from a distributed table only to reference or colocated tables by owner; from a reference table only to reference tables', async () => {
    const fks = await rows<{ t: string; ref: string; cols: string[]; refcols: string[] }>(
      `SELECT c.relname AS t, r.relname AS ref,
              ARRAY(SELECT a.attname FROM unnest(f.conkey) AS k(n) JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.n)::text[] AS cols,
              ARRAY(SELECT a.attname FROM unnest(f.confkey) AS k(n) JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.n)::text[] AS refcols
       FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class r ON r.oid = f.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND f.contype = 'f'`,
    );
    const group = (table: string): string | undefined => {
      const t = layout.get(table);
      return t && 'column' in t ? (t.colocateWith ?? t.table) : undefined;
    };
    const bad = fks.filter((f) => {
      const from = ownerOf(f.t);
      const to = ownerOf(f.ref);
      if (to === undefined) return false; // to a reference table: allowed from anywhere
      if (from === undefined) return true; // reference -> distributed
      const i = f.cols.indexOf(from);
      return group(f.t) !== group(f.ref) || i < 0 || f.refcols[i] !== to;
    });
    expect(bad.map((f) => `${f.t} -> ${f.ref}`)).toEqual([]);
  });

  it('no triggers on any table, and sequences behind distributed tables are bigint', async () => {
    expect(await rows(`SELECT tgrelid::regclass::text AS t, tgname FROM pg_trigger WHERE NOT tgisinternal`)).toEqual([]);
    const seqs = await rows<{ t: string; type: string }>(
      `SELECT d.refobjid::regclass::text AS t, format_type(s.seqtypid, NULL) AS type FROM pg_sequence s
       JOIN pg_depend d ON d.objid = s.seqrelid AND d.deptype IN ('a', 'i') AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass`,
    );
    expect(seqs.filter((s) => ownerOf(s.t) !== undefined && s.type !== 'bigint')).toEqual([]);
  });

  it('docs/scaling.md gives the layout\'s create_distributed_table / create_reference_table calls, in order', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'scaling.md'), 'utf8');
    expect(doc).toContain(['```sql', ...citusCalls(), '```'].join('\n'));
  });
});

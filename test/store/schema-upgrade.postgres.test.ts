/**
 * PostgreSQL only: a database made by the schema before the change feed was keyed by owner
 * (`seq bigserial PRIMARY KEY`) is upgraded when the store opens it, keeping every document
 * and change, and goes on numbering changes after the old ones. The old DDL is written out
 * here as that version created it.
 */
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { freshPostgresDatabase } from '../services/databases.ts';

const OLD_SCHEMA = `
CREATE TABLE xcap_documents (
  auid text COLLATE "C" NOT NULL, tree smallint NOT NULL, xui text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL,
  etag text NOT NULL, body text NOT NULL, modified bigint NOT NULL,
  PRIMARY KEY (auid, tree, xui, path)
);
CREATE TABLE xcap_changes (
  seq bigserial PRIMARY KEY,
  auid text NOT NULL, tree smallint NOT NULL, xui text NOT NULL, path text NOT NULL,
  old_etag text, new_etag text, origin text NOT NULL, at bigint NOT NULL, writer text NOT NULL
);
CREATE TABLE xcap_changes_pruned (id smallint PRIMARY KEY CHECK (id = 1), through bigint NOT NULL);
INSERT INTO xcap_documents VALUES ('resource-lists', 1, 'sip:alice@example.com', 'index', 'e2', '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 2000);
INSERT INTO xcap_changes (auid, tree, xui, path, old_etag, new_etag, origin, at, writer) VALUES
  ('resource-lists', 1, 'sip:alice@example.com', 'index', NULL, 'e1', 'xcap', 1000, 'old'),
  ('resource-lists', 1, 'sip:alice@example.com', 'index', 'e1', 'e2', 'xcap', 2000, 'old');
`;

const ALICE = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function oldDatabase(): Promise<{ url: string; client: pg.Client }> {
  const url = await freshPostgresDatabase(inject('services').postgres, 'upgrade');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  closers.push(() => client.end());
  await client.query(OLD_SCHEMA);
  return { url, client };
}

async function open(url: string): Promise<DocumentStore> {
  const store = await openPostgresStore(url);
  closers.push(() => store.close());
  return store;
}

/** Columns of the change feed's primary key, in key order. */
async function changesKey(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ col: string }>(
    `SELECT a.attname AS col FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = 'xcap_changes'::regclass AND c.contype = 'p' ORDER BY k.n`,
  );
  return r.rows.map((row) => row.col);
}

describe('postgres: opening a database of the previous schema', () => {
  it('keys the change feed by (xui, seq), keeping documents and changes, and numbers new changes after the old ones', async () => {
    const { url, client } = await oldDatabase();
    expect(await changesKey(client)).toEqual(['seq']);
    const store = await open(url);
    expect(await changesKey(client)).toEqual(['xui', 'seq']);

    expect((await store.get(ALICE))?.etag).toBe('e2');
    expect((await store.changes(0)).map((c) => [c.seq, c.oldEtag, c.newEtag])).toEqual([
      [1, null, 'e1'],
      [2, 'e1', 'e2'],
    ]);
    const w = await store.put(ALICE, '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/></resource-lists>', { etag: 'e2' });
    expect((await store.changes(2)).map((c) => [c.seq, c.oldEtag, c.newEtag])).toEqual([[3, 'e2', w.etag]]);
    expect(await store.lastSeq()).toBe(3);
  });

  it('a second open (or a second process) finds the upgraded schema and changes nothing', async () => {
    const { url, client } = await oldDatabase();
    await (await open(url)).put(ALICE, '<x/>', { etag: 'e2' });
    const indexesBefore = (await client.query("SELECT indexname FROM pg_indexes WHERE tablename = 'xcap_changes' ORDER BY 1")).rows;
    const [a, b] = await Promise.all([open(url), open(url)]);
    expect(await changesKey(client)).toEqual(['xui', 'seq']);
    expect((await client.query("SELECT indexname FROM pg_indexes WHERE tablename = 'xcap_changes' ORDER BY 1")).rows).toEqual(indexesBefore);
    expect((await a.changes(0)).map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(await b.lastSeq()).toBe(3);
  });
});

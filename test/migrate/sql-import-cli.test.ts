/**
 * `xcap-bridge import sql` / `export sql` as an operator runs them (child processes), and
 * what a phone sees after the import: its cached legacy ETag still matches over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase } from '../../connectors/sql/database.ts';
import { legacyDialect, LegacyXcapTable } from '../../connectors/sql/xcap-table/index.ts';
import { createRegistry } from '../../src/appusage/registry.ts';
import { importLegacyTable } from '../../src/migrate/sql-import.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { legacySchema } from '../fixtures/legacy-sql/schema.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase } from '../services/sql-databases.ts';
import { insertRows, legacyRows } from './legacy-seed.ts';

const CLI = resolve('bin/xcap-bridge.js');

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

let maria: MariaDbService;
let dir: string;
beforeAll(async () => {
  maria = await startMariaDb();
  dir = mkdtempSync(join(tmpdir(), 'xcapb-import-cli-'));
});
afterAll(async () => {
  await maria?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('import sql / export sql commands', () => {
  it('--help on each names the options and exits 0', async () => {
    for (const cmd of ['import', 'export']) {
      const r = await cli([cmd, 'sql', '--help'], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--database-url URL/);
      expect(r.stdout).toMatch(/--dialect/);
    }
    const bad = await cli(['import', 'sql', '--database-url', 'mysql://x/y', '--dialect', 'asterisk'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--dialect must be kamailio, opensips, openxcap or auto/);
  });

  it('MariaDB Kamailio table: dry run, import (auto dialect, problems, summary), re-run, export to an OpenSIPS table', async () => {
    const legacy = await freshSqlDatabase('mysql', maria.url, 'cli_kamailio');
    const target = await freshSqlDatabase('mysql', maria.url, 'cli_opensips');
    try {
      await legacy.exec(legacySchema('kamailio', 'mysql'));
      await target.exec(legacySchema('opensips', 'mysql'));
      const rows = legacyRows('kamailio', 'alice');
      await insertRows(legacy, 'mysql', rows.map((r) => r.row));
      const data = join(dir, 'data');
      const valid = rows.filter((r) => r.invalid === undefined).length;

      const dry = await cli(['import', 'sql', '--database-url', legacy.url, '--dry-run', '--data', data], dir);
      expect(dry.stdout).toMatch(/dialect kamailio \(doc_uri holds full paths\)/);
      expect(dry.stdout).toContain(`${rows.length} documents: would import ${valid}, unchanged 0, kept 0, invalid ${rows.length - valid}`);

      const run = await cli(['import', 'sql', '--database-url', legacy.url, '--dialect', 'auto', '--data', data], dir);
      expect(run.code).toBe(1); // some documents are invalid
      expect(run.stdout).toMatch(/^invalid id 7 \(resource-lists sip:alice@example.com\/bria\): .*uri/m);
      expect(run.stdout).toContain(`imported ${valid},`);

      const again = await cli(['import', 'sql', '--database-url', legacy.url, '--data', data, '--lenient'], dir);
      expect(again.stdout).toContain(`imported 1, unchanged ${valid}, kept 0, invalid ${rows.length - valid - 1}`);

      const out = await cli(['export', 'sql', '--database-url', target.url, '--dialect', 'opensips', '--data', data], dir);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`wrote ${valid + 1} documents to xcap (opensips)`);
      const back = await target.query<{ doc_uri: string; doc_type: number; etag: string }>('SELECT doc_uri, doc_type, etag FROM xcap ORDER BY doc_type, doc_uri');
      expect(back.map((r) => [Number(r.doc_type), r.doc_uri])).toEqual([
        [2, 'index'], [4, 'bria'], [4, 'index'], [8, 'index'], [16, 'index'], [32, 'pres-rules'], [64, 'oma_status-icon/rcs_status_icon'],
      ]);
      // These sr- ETags fit OpenSIPS' 64-character column, so phones' ETags survive the roll-back too.
      expect(back.find((r) => Number(r.doc_type) === 4 && r.doc_uri === 'index')?.etag).toBe(rows[0]?.row.etag);
    } finally {
      await legacy.drop();
      await target.drop();
    }
  });

  it('after an import a phone\'s cached legacy ETag still matches over HTTP (GET ETag, If-None-Match 304, If-Match PUT)', async () => {
    const legacy = await freshSqlDatabase('postgres', inject('services').postgres, 'http_opensips');
    const gw = await startTestGateway();
    const database = openSqlDatabase(legacy.url);
    try {
      await legacy.exec(legacySchema('opensips32', 'postgres'));
      const [rl] = legacyRows('opensips', 'alice');
      await insertRows(legacy, 'postgres', [rl!.row]);
      const usages = await createRegistry();
      await importLegacyTable({ table: new LegacyXcapTable(database, legacyDialect('opensips')), writer: new DocumentWriter({ store: gw.gateway.store, usages }), usages });
      const alice = gw.client();
      const path = '/resource-lists/users/sip:alice@example.com/index';
      const got = await alice.get(path);
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe(`"${rl!.row.etag}"`);
      expect(got.body).toBe(rl!.body);
      expect((await alice.get(path, { 'If-None-Match': `"${rl!.row.etag}"` })).status).toBe(304);
      const put = await alice.put(path, rl!.body!.replace('Buddy 1', 'Carol'), 'application/resource-lists+xml', { 'If-Match': `"${rl!.row.etag}"` });
      expect(put.status).toBe(200);
      expect((await alice.get(path)).body).toContain('Carol');
    } finally {
      await database.close();
      await gw.stop();
      await legacy.drop();
    }
  });
});

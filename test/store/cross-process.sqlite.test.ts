/**
 * SQLite only: several processes open the same file (`user add` while `serve` runs).
 * PostgreSQL's equivalent lives in cross-process.postgres.test.ts; here the file lock
 * and busy_timeout must make writers wait for each other instead of failing with
 * SQLITE_BUSY, and conditional writes must stay atomic across processes.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { tempDir } from '../services/process.ts';
import { SHARED_KEY } from './shared-key.ts';

const run = promisify(execFile);
const childScript = fileURLToPath(new URL('./child-writer.ts', import.meta.url));
const dir = tempDir('sqlite-xproc');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function child(...args: string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, [childScript, ...args]);
  return JSON.parse(stdout) as Record<string, number>;
}

describe('sqlite: several processes on one file', () => {
  it('three processes writing at once all succeed, each change in the feed once', async () => {
    const file = join(dir, `db-${++n}.sqlite`);
    const store = await openSqliteStore(file);
    try {
      const results = await Promise.all([child('many', file, '2000'), child('many', file, '2000'), child('many', file, '2000')]);
      expect(results.map((r) => r.written)).toEqual([2000, 2000, 2000]);
      expect(await store.lastSeq()).toBe(6000);
      const seqs = (await store.changes(0, 10000)).map((c) => c.seq);
      expect(new Set(seqs).size).toBe(6000);
      let docs = 0;
      for await (const _ of store.list({ auid: SHARED_KEY.auid })) docs++;
      expect(docs).toBe(6000);
    } finally {
      await store.close();
    }
  });

  it('two processes racing put({etag}) on one document: exactly one write wins overall', async () => {
    const file = join(dir, `db-${++n}.sqlite`);
    const store = await openSqliteStore(file);
    try {
      const base = await store.put(SHARED_KEY, '<v0/>', 'absent');
      const [a, b] = await Promise.all([child('race', file, base.etag, '10'), child('race', file, base.etag, '10')]);
      expect(a!.won! + b!.won!).toBe(1);
      expect(a!.lost! + b!.lost!).toBe(19);
      expect((await store.changes(0)).map((c) => c.oldEtag)).toEqual([null, base.etag]);
    } finally {
      await store.close();
    }
  });
});

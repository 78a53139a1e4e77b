/** The DocumentStore contract on SQLite: a new file in a temp dir per test. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { storeContract } from '../conformance/store.suite.ts';
import { tempDir } from '../services/process.ts';

const dir = tempDir('sqlite-store');
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', async () => {
  const file = join(dir, `store-${++n}.sqlite`);
  return () => openSqliteStore(file);
});

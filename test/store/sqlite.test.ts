/** The DocumentStore contract on SQLite (a new file in a temp dir per test), and how it groups writes. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocKey } from '../../src/store/types.ts';
import { storeContract } from '../conformance/store.suite.ts';
import { tempDir } from '../services/process.ts';

const dir = tempDir('sqlite-store');
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', async () => {
  const file = join(dir, `store-${++n}.sqlite`);
  return () => openSqliteStore(file);
});

describe('sqlite: writes asked for at once', () => {
  it('are committed together, the kept ones in the feed in the order asked, a failed one leaving no trace', async () => {
    const store = await openSqliteStore(join(dir, `turn-${++n}.sqlite`));
    const doc = (xui: string): DocKey => ({ auid: 'rls-services', xui, path: 'index' });
    try {
      await store.put(doc('sip:bob@example.com'), '<bob/>', 'absent', 'xcap', undefined, { unique: ['sip:taken@example.com'] });
      const before = await store.lastSeq();
      const asked = ['sip:w1@example.com', 'sip:w2@example.com', 'sip:w3@example.com', 'sip:w4@example.com'];
      const results = await Promise.allSettled(
        asked.map((xui, i) => store.put(doc(xui), `<w${i}/>`, 'absent', 'xcap', undefined, { unique: [i === 2 ? 'sip:taken@example.com' : xui] })),
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const feed = await store.changes(before);
      expect(feed.map((c) => c.key.xui)).toEqual(['sip:w1@example.com', 'sip:w2@example.com', 'sip:w4@example.com']);
      expect(feed.map((c) => c.seq)).toEqual([before + 1, before + 2, before + 3]);
      expect(await store.get(doc('sip:w3@example.com'))).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

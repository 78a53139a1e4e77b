/**
 * A second process for the cross-process tests (not a test itself). <target> is a
 * postgres:// URL or an SQLite file path.
 *   node child-writer.ts race <target> <etag> <n>   n concurrent put({etag}) on the shared key
 *   node child-writer.ts put <target> <origin>      one put('any') on the shared key
 *   node child-writer.ts many <target> <n>          n sequential put('any') on keys of its own
 * Prints one JSON line: {"won": k, "lost": m}, {"etag": "..."} or {"written": n}.
 */
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { EtagMismatch } from '../../src/store/types.ts';
import { SHARED_KEY } from './shared-key.ts';

const [mode, target, arg1, arg2] = process.argv.slice(2);
const store = target!.startsWith('postgres') ? await openPostgresStore(target!) : await openSqliteStore(target!);
try {
  if (mode === 'race') {
    const results = await Promise.allSettled(
      Array.from({ length: Number(arg2) }, (_, i) => store.put(SHARED_KEY, `<child n="${i}"/>`, { etag: arg1! }, 'child')),
    );
    const lost = results.filter((r) => r.status === 'rejected');
    for (const r of lost) if (!(r.reason instanceof EtagMismatch)) throw r.reason;
    process.stdout.write(`${JSON.stringify({ won: results.length - lost.length, lost: lost.length })}\n`);
  } else if (mode === 'many') {
    for (let i = 0; i < Number(arg1); i++) await store.put({ ...SHARED_KEY, path: `child-${process.pid}-${i}` }, '<x/>', 'any', 'child');
    process.stdout.write(`${JSON.stringify({ written: Number(arg1) })}\n`);
  } else {
    const r = await store.put(SHARED_KEY, '<from-child/>', 'any', arg1);
    process.stdout.write(`${JSON.stringify({ etag: r.etag })}\n`);
  }
} finally {
  await store.close();
}

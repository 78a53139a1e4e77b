/**
 * SQLite durability (store.durability): with `power-loss` a write resolves only after a
 * flush of the WAL that started after its commit, one flush serving every commit that
 * arrived meanwhile (group commit); listeners hear of it after that flush; `process-crash`
 * flushes nothing. The flush is injected here to count and hold it; that the real one is
 * fdatasync(2) on the WAL is what bench/vs-kamailio.ts's strace count shows. Checkpoints run
 * on a thread and the WAL starts over instead of growing with every write.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocKey } from '../../src/store/types.ts';
import { tempDir } from '../services/process.ts';

const dir = tempDir('sqlite-durable');
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = (path: string): DocKey => ({ auid: 'resource-lists', xui: 'sip:a@example.com', path });

/** A datasync that records each call and completes only when the test releases it. */
function heldFlush() {
  const calls: Array<{ fd: number; release: () => void }> = [];
  const waiting: Array<() => void> = [];
  return {
    calls,
    datasync: (fd: number) =>
      new Promise<void>((release) => {
        calls.push({ fd, release });
        for (const w of waiting.splice(0)) w();
      }),
    /** Resolves once the flush number `i` (0-based) has started. */
    started(i: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => (calls.length > i ? resolve() : waiting.push(check));
        check();
      });
    },
  };
}

const settledFlag = (p: Promise<unknown>) => {
  const s = { done: false };
  void p.then(() => (s.done = true), () => (s.done = true));
  return s;
};

describe('sqlite durability power-loss: group commit', () => {
  it('one flush covers every write that committed while the previous flush ran; each write waits for its own', async () => {
    const flush = heldFlush();
    const store = await openSqliteStore(join(dir, `g-${++n}.sqlite`), { datasync: flush.datasync });
    try {
      const first = store.put(key('first'), '<a/>', 'absent');
      await flush.started(0);
      const firstDone = settledFlag(first);
      // 19 more writers while the first flush is still on its way to disk.
      const rest = Array.from({ length: 19 }, (_, i) => store.put(key(`w${i}`), `<w n="${i}"/>`, 'absent'));
      const restDone = rest.map(settledFlag);
      await new Promise((r) => setTimeout(r, 20));
      // They are committed (visible to a read) but none has resolved: the flush running started before them.
      expect((await store.head(key('w18')))?.etag).toBeDefined();
      expect(firstDone.done).toBe(false);
      expect(restDone.some((d) => d.done)).toBe(false);
      expect(flush.calls).toHaveLength(1);

      flush.calls[0]?.release();
      await first;
      await flush.started(1);
      // The first flush is done; the 19 wait for the second, which covers all of them.
      await new Promise((r) => setTimeout(r, 20));
      expect(restDone.some((d) => d.done)).toBe(false);
      expect(flush.calls).toHaveLength(2);
      flush.calls[1]?.release();
      await Promise.all(rest);
      expect(flush.calls).toHaveLength(2);
    } finally {
      for (const c of flush.calls) c.release();
      await store.close();
    }
  });

  it('change listeners hear of a write only after its flush', async () => {
    const flush = heldFlush();
    const store = await openSqliteStore(join(dir, `l-${++n}.sqlite`), { datasync: flush.datasync });
    try {
      const heard: string[] = [];
      store.subscribe((c) => heard.push(c.key.path));
      const write = store.put(key('doc'), '<a/>', 'absent');
      await flush.started(0);
      expect(heard).toEqual([]);
      flush.calls[0]?.release();
      await write;
      expect(heard).toEqual(['doc']);
    } finally {
      for (const c of flush.calls) c.release();
      await store.close();
    }
  });

  it('a failed flush fails the writes it was to cover (the caller must not take them as saved)', async () => {
    const store = await openSqliteStore(join(dir, `f-${++n}.sqlite`), { datasync: () => Promise.reject(new Error('EIO')) });
    try {
      await expect(store.put(key('doc'), '<a/>', 'absent')).rejects.toThrow(/flushing the WAL to disk failed: EIO/);
    } finally {
      await store.close();
    }
  });

  it('process-crash durability flushes nothing', async () => {
    const flush = heldFlush();
    const store = await openSqliteStore(join(dir, `p-${++n}.sqlite`), { durability: 'process-crash', datasync: flush.datasync });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(key(`w${i}`), '<a/>', 'absent')));
      expect(flush.calls).toHaveLength(0);
    } finally {
      await store.close();
    }
  });
});

describe('sqlite checkpoints', () => {
  it('the WAL starts over instead of growing with every write (checkpoints run and catch up)', async () => {
    const file = join(dir, `c-${++n}.sqlite`);
    const store = await openSqliteStore(file);
    const body = `<doc>${'x'.repeat(8000)}</doc>`;
    try {
      // 6,000 writes of 8 KB: ~3 pages each, ~70 MB of WAL if it never started over.
      for (let round = 0; round < 120; round++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(key(`d${i}`), body, 'any')));
      }
      expect(statSync(`${file}-wal`).size).toBeLessThan(40 * 1024 * 1024);
      expect(await store.lastSeq()).toBe(6000);
    } finally {
      await store.close();
    }
  });
});

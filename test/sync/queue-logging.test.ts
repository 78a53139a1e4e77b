/**
 * What the sync workers write to the log on real Redis (a single one and a cluster): a run
 * that changed something is an info line, an unchanged scheduled run only a debug line
 * (never one info line per user per tick), and a tick's fan-out over many documents (the
 * initial sync) reports its progress every few seconds of the injected clock, then a
 * closing line.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startSync, type SyncHandle } from '../../src/sync/queue.ts';
import { binding, person, syncFixture, type SyncFixture } from './helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

interface Line {
  level: number;
  msg: string;
  outcome?: string;
  binding?: string;
  done?: number;
  total?: number;
}

/** A pino logger at `debug` whose lines are kept, parsed. */
function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, dest), lines };
}

async function until(check: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const INFO = 30;
const DEBUG = 20;
let f: SyncFixture;
let handle: SyncHandle | undefined;

beforeEach(async () => {
  f = await syncFixture();
});
afterEach(async () => {
  await handle?.stop();
  handle = undefined;
  await f.store.close();
});

describeEachRedis((redis) => {
  describe('sync worker log lines', () => {
    it('a scheduled run that changed something is info; the unchanged runs after it are debug', async () => {
      f.remote.seed('people', [{ fields: person(1) }]);
      const { logger, lines } = capture();
      handle = await startSync({
        store: f.store, redis: await redis.target(), prefix: `t-${randomUUID()}`, bindings: [binding({ schedule: { everyMs: 1000 } }).config],
        connectors: new Map([['mem', f.remote]]), logger, runWorkers: true, drainTimeoutMs: 2000,
      });
      const runs = () => lines.filter((l) => l.msg === 'sync run');
      await until(() => runs().length >= 3, 'three scheduled runs');
      const [first, ...rest] = runs();
      expect(first).toMatchObject({ level: INFO, outcome: 'applied' });
      expect(rest.every((l) => l.outcome === 'unchanged' && l.level === DEBUG)).toBe(true);
    });

    it("a run of every document (a tick's fan-out, the initial sync) logs its progress every few seconds and a closing line", async () => {
      const users = Array.from({ length: 30 }, (_, i) => ({ xui: `sip:u${i}@example.com` }));
      f.remote.seed('people', [{ fields: person(1) }]);
      const { logger, lines } = capture();
      // Every reading of the clock is one second later: the fan-out of 30 documents spans far more than 5 s.
      let t = 0;
      handle = await startSync({
        store: f.store, redis: await redis.target(), prefix: `t-${randomUUID()}`,
        bindings: [binding({ target: { scope: 'users', document: 'index' } }).config],
        connectors: new Map([['mem', f.remote]]), users: { list: async () => users }, logger, runWorkers: true, drainTimeoutMs: 2000,
        now: () => (t += 1000),
      });
      // What a tick or the admin API's run of every document does: one job per user.
      await handle.enqueue('dir');
      const progress = () => lines.filter((l) => l.binding === 'dir' && /^sync dir: /.test(l.msg));
      await until(() => progress().some((l) => l.msg.includes('done in')), 'the closing progress line');
      const [firstLine] = progress();
      expect(firstLine).toMatchObject({ level: INFO, total: 30 });
      expect(firstLine?.msg).toMatch(/^sync dir: \d+\/30 documents \(\d+%\), [\d.]+\/s, ETA \d/);
      expect(progress().at(-1)?.msg).toMatch(/^sync dir: 30\/30 documents done in /);
      // One info line per document that changed, none per unchanged one: 30 created documents.
      expect(lines.filter((l) => l.msg === 'sync run' && l.level === INFO)).toHaveLength(30);
    });
  });
});

/**
 * changeFeed.retention: the server prunes its change feed by count and age on its own
 * timer (an injected clock moved by hand), and readers behind the pruned position learn it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`${store}: change feed retention`, () => {
    let gw: TestGateway;
    afterEach(() => gw.stop());

    async function until(check: () => Promise<boolean>, clock: ManualClock, stepMs: number): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('pruning never happened');
        clock.advance(stepMs);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    it('keeps the newest maxCount rows once a pass has run', async () => {
      const clock = new ManualClock();
      gw = await startTestGateway({ store, feedClock: clock, config: { changeFeed: { retention: { maxCount: 2, pruneEverySeconds: 20 } } } });
      const s = gw.gateway.store;
      for (let i = 0; i < 5; i++) await s.put({ auid: 'resource-lists', xui: 'sip:alice@example.com', path: `d${i}` }, '<x/>', 'any');
      const all = await s.changes(0);
      await until(async () => (await s.prunedThrough()) > 0, clock, 20_000);
      expect(await s.changes(0)).toEqual(all.slice(3));
      expect(await s.prunedThrough()).toBe(all[2]!.seq);
    });

    it('removes rows older than maxAgeSeconds', async () => {
      const clock = new ManualClock();
      gw = await startTestGateway({ store, feedClock: clock, config: { changeFeed: { retention: { maxAgeSeconds: 3600, pruneEverySeconds: 600 } } } });
      const s = gw.gateway.store;
      for (let i = 0; i < 3; i++) await s.put({ auid: 'resource-lists', xui: 'sip:alice@example.com', path: `d${i}` }, '<x/>', 'any');
      const last = await s.lastSeq();
      clock.advance(600_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(await s.changes(0)).toHaveLength(3);
      await until(async () => (await s.prunedThrough()) === last, clock, 600_000);
      expect(await s.changes(0)).toEqual([]);
      expect(await s.lastSeq()).toBe(last);
    });
  });
}

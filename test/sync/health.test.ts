/**
 * When a scheduled binding counts as stale (src/sync/health.ts): two of its ticks should
 * have happened since its last tick, or since a document's last successful sync. Pure:
 * the clock is a parameter.
 */
import { describe, expect, it } from 'vitest';
import { assessBindings } from '../../src/sync/health.ts';
import type { ScopeState } from '../../src/sync/state.ts';
import { binding } from './helpers.ts';

const T = Date.parse('2026-12-01T10:30:00Z');
const MIN = 60_000;

function scope(lastOkAt: number | null, lastRunAt: number | null, lastError: string | null = null): ScopeState {
  return { binding: 'dir', scope: 'global', docEtag: null, remoteToken: null, configHash: null, lastRunAt, lastOkAt, lastError, summary: null };
}

describe('stale bindings (sync status, /admin/sync/status)', () => {
  const every = binding({ schedule: { everyMs: MIN } }).config;

  it('everyMs: fresh until two intervals passed since the last tick, then stale with the reason', () => {
    const ticks = new Map([['dir', T]]);
    expect(assessBindings([every], [scope(T, T)], ticks, T + 2 * MIN - 1)[0]).toMatchObject({ stale: false, reason: null });
    const h = assessBindings([every], [scope(T, T)], ticks, T + 2 * MIN)[0];
    expect(h).toMatchObject({ stale: true, reason: 'no scheduled tick for 2 intervals (last 120 s ago, schedule every 60000 ms): its job scheduler is missing or no worker runs' });
  });

  it('ticks that run but whose documents fail: stale per document, with the last error', () => {
    const h = assessBindings([every], [scope(T - 10 * MIN, T, 'unavailable: connection refused')], new Map([['dir', T]]), T + 1000)[0];
    expect(h?.stale).toBe(true);
    expect(h?.reason).toBe('1 of 1 documents stale; global: last successful sync 601 s ago (schedule every 60000 ms); last error: unavailable: connection refused');
    expect(h?.scopes).toEqual([{ scope: 'global', stale: true, reason: expect.stringMatching(/^last successful sync 601 s ago/) }]);
  });

  it('cron: stale once the second occurrence after the last tick is due', () => {
    // Every quarter hour (the same instants in every time zone's local time): 10:45, 11:00 follow 10:30.
    const quarterly = binding({ schedule: { cron: '*/15 * * * *' } }).config;
    const ticks = new Map([['dir', T]]);
    expect(assessBindings([quarterly], [], ticks, Date.parse('2026-12-01T10:59:59Z'))[0]?.stale).toBe(false);
    expect(assessBindings([quarterly], [], ticks, Date.parse('2026-12-01T11:00:00Z'))[0]?.stale).toBe(true);
  });

  it('never scheduled is stale; a binding without a schedule never is', () => {
    expect(assessBindings([every], [], new Map(), T)[0]).toMatchObject({ stale: true, reason: expect.stringMatching(/^never scheduled/) });
    const manual = binding().config;
    expect(assessBindings([manual], [scope(T - 999 * MIN, T - 999 * MIN)], new Map(), T)[0]).toMatchObject({ schedule: null, stale: false });
  });
});

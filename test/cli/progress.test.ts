/**
 * Progress of long work (src/cli/progress.ts) as an operator sees it: on a terminal a bar
 * redrawn in place with done/total, rate and ETA; in a pipe or log one line every few
 * seconds and nothing at all for short work. Time is moved by hand (injected clock).
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, Progress, type ProgressStream } from '../../src/cli/progress.ts';

/** What reached the terminal or pipe. */
function sink(isTTY: boolean, columns = 100): ProgressStream & { out: string } {
  return {
    isTTY,
    columns,
    out: '',
    write(chunk: string) {
      this.out += chunk;
      return true;
    },
  };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress in a pipe or log (no TTY)', () => {
  it('short work prints nothing, not even a closing line', () => {
    const s = sink(false);
    const c = clock();
    const p = new Progress({ label: 'sync run dir', unit: 'documents', total: 3, stream: s, now: c.now });
    for (let i = 0; i < 3; i++) {
      c.advance(1000);
      p.add();
    }
    p.finish();
    expect(s.out).toBe('');
  });

  it('one line per interval with done/total, percent, rate and ETA, then a closing line', () => {
    const s = sink(false);
    const c = clock();
    const p = new Progress({ label: 'sync run dir', unit: 'documents', total: 100, stream: s, now: c.now });
    // 10 documents a second for 12 s: lines at 5 s and 10 s, none in between.
    for (let i = 0; i < 120; i++) {
      c.advance(100);
      if (i < 100) p.add();
    }
    expect(s.out.split('\n').filter(Boolean)).toEqual([
      'sync run dir: 50/100 documents (50%), 10/s, ETA 5s',
      'sync run dir: 100/100 documents (100%), 10/s, ETA 0s',
    ]);
    c.advance(3000);
    p.finish();
    p.finish();
    expect(s.out.split('\n').filter(Boolean).at(-1)).toBe('sync run dir: 100/100 documents done in 15s (6.7/s)');
  });

  it('an unknown total gives count and rate without ETA; a note says what the current item does', () => {
    const lines: string[] = [];
    const c = clock();
    const p = new Progress({ label: 'import', line: (text) => lines.push(text), now: c.now, intervalMs: 2000 });
    c.advance(2500);
    p.note('sip:alice@example.com: remote writes 3/40');
    p.set(5);
    expect(lines).toEqual(['import: 0 items, 0.0/s; sip:alice@example.com: remote writes 3/40']);
    c.advance(2000);
    p.set(90);
    expect(lines.at(-1)).toBe('import: 90 items, 20/s; sip:alice@example.com: remote writes 3/40');
  });

  it('a log sink gets the snapshot as fields', () => {
    const got: Array<{ done: number; total: number | null; etaSeconds: number | null }> = [];
    const c = clock();
    const p = new Progress({ label: 'sync dir', total: 1000, line: (_t, snap) => got.push(snap), now: c.now });
    c.advance(10_000);
    p.set(250);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ done: 250, total: 1000, rate: 25, etaSeconds: 30, elapsedMs: 10_000 });
  });
});

describe('progress on a terminal (TTY)', () => {
  it('draws a bar in place with done/total, rate and ETA, and ends the line on finish', () => {
    const s = sink(true);
    const c = clock();
    const p = new Progress({ label: 'sync run dir', unit: 'documents', total: 40, stream: s, now: c.now });
    c.advance(2000);
    p.set(10);
    expect(s.out).toBe('\r[######------------------] sync run dir 10/40 documents 5.0/s ETA 6s\x1b[K');
    s.out = '';
    c.advance(50);
    p.add();
    // Redraws are throttled: the count moved, the screen waits for the next one.
    expect(s.out).toBe('');
    c.advance(2000);
    p.set(40);
    expect(s.out).toBe(`\r[${'#'.repeat(24)}] sync run dir 40/40 documents 9.9/s ETA 0s\x1b[K`);
    p.finish();
    expect(s.out.endsWith('\n')).toBe(true);
  });

  it('clear() takes the bar off so a report line can be printed; the next change draws it again', () => {
    const s = sink(true);
    const c = clock();
    const p = new Progress({ label: 'x', total: 2, stream: s, now: c.now });
    c.advance(500);
    p.add();
    s.out = '';
    p.clear();
    expect(s.out).toBe('\r\x1b[K');
    p.clear();
    expect(s.out).toBe('\r\x1b[K');
    c.advance(500);
    p.add();
    expect(s.out).toMatch(/\r\[#{24}\] x 2\/2 items/);
  });

  it('never wider than the terminal (a wrapped bar cannot be redrawn)', () => {
    const s = sink(true, 30);
    const c = clock();
    const p = new Progress({ label: 'a-very-long-binding-name', total: 10, stream: s, now: c.now });
    c.advance(1000);
    p.add();
    const visible = s.out.replace('\r', '').replace('\x1b[K', '');
    expect(visible.length).toBeLessThanOrEqual(29);
  });

  it('work that ends before the first redraw leaves nothing on the screen', () => {
    const s = sink(true);
    const c = clock();
    const p = new Progress({ label: 'x', total: 2, stream: s, now: c.now });
    p.add();
    p.add();
    p.finish();
    expect(s.out).toBe('');
  });
});

describe('durations', () => {
  it('seconds, minutes and hours', () => {
    expect([formatDuration(0), formatDuration(42.4), formatDuration(187), formatDuration(7500)]).toEqual(['0s', '42s', '3m07s', '2h05m']);
  });
});

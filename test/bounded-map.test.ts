/**
 * The bounded map the caches share (src/bounded-map.ts): never above its bound, the entry set
 * longest ago dropped first, and eviction that never walks the Map (the quadratic shape it
 * replaces walked the Map's deleted slots on every eviction; counted here, not timed).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedMap } from '../src/bounded-map.ts';

/** A small deterministic generator (xorshift32), so a failure replays. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('BoundedMap', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('keeps what a plain list in set order keeps, under random sets, gets and deletes', () => {
    const limit = 50;
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>({ limit, onEvict: (k) => evicted.push(k) });
    // The model: keys in the order of their last set, oldest first.
    let order: string[] = [];
    const values = new Map<string, number>();
    const modelEvicted: string[] = [];
    const next = random(12345);
    for (let i = 0; i < 20_000; i++) {
      const k = `k${next(120)}`;
      const op = next(10);
      if (op < 6) {
        map.set(k, i);
        order = order.filter((x) => x !== k);
        order.push(k);
        values.set(k, i);
        while (order.length > limit) {
          const dropped = order.shift() as string;
          modelEvicted.push(dropped);
          values.delete(dropped);
        }
      } else if (op < 8) {
        expect(map.get(k)).toBe(values.get(k));
      } else {
        expect(map.delete(k)).toBe(values.has(k));
        order = order.filter((x) => x !== k);
        values.delete(k);
      }
      expect(map.size).toBeLessThanOrEqual(limit);
      expect(map.size).toBe(order.length);
    }
    expect([...map.values()]).toEqual(order.map((k) => values.get(k)));
    expect(map.oldestKey()).toBe(order[0]);
    expect(evicted).toEqual(modelEvicted);
    expect(evicted.length).toBeGreaterThan(1000);
  });

  it('get leaves the order as it is; a set again makes the entry the newest', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, string>({ limit: 3, onEvict: (k) => evicted.push(k) });
    map.set('a', 'A');
    map.set('b', 'B');
    map.set('c', 'C');
    expect(map.get('a')).toBe('A');
    map.set('d', 'D');
    expect(evicted).toEqual(['a']);
    map.set('b', 'B2');
    map.set('e', 'E');
    expect(evicted).toEqual(['a', 'c']);
    expect([...map.values()]).toEqual(['D', 'B2', 'E']);
    expect(map.oldestKey()).toBe('d');
  });

  it('tells onEvict only of what the bound dropped, not of delete, clear or a replacing set', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>({ limit: 2, onEvict: (k) => evicted.push(k) });
    map.set('a', 1);
    map.set('a', 2);
    map.set('b', 1);
    map.delete('a');
    map.set('c', 1);
    map.clear();
    expect(evicted).toEqual([]);
    expect(map.size).toBe(0);
    map.set('x', 1);
    map.set('y', 1);
    map.set('z', 1);
    expect(evicted).toEqual(['x']);
  });

  it('keeps the total weight within the limit, an entry heavier than the limit not at all', () => {
    const map = new BoundedMap<string, Buffer>({ limit: 100, weigh: (b) => b.length });
    const next = random(777);
    for (let i = 0; i < 5000; i++) {
      map.set(`k${next(40)}`, Buffer.alloc(next(60)));
      const sum = [...map.values()].reduce((n, b) => n + b.length, 0);
      expect(map.total).toBe(sum);
      expect(sum).toBeLessThanOrEqual(100);
    }
    map.set('huge', Buffer.alloc(101));
    expect(map.get('huge')).toBeUndefined();
    expect(map.total).toBe(0);
    // A replacing set weighs the new value.
    map.set('a', Buffer.alloc(60));
    map.set('a', Buffer.alloc(10));
    map.set('b', Buffer.alloc(90));
    expect(map.get('a')?.length).toBe(10);
    expect(map.total).toBe(100);
  });

  it('a limit of 0 keeps nothing', () => {
    const map = new BoundedMap<string, number>({ limit: 0 });
    map.set('a', 1);
    expect(map.size).toBe(0);
    expect(map.get('a')).toBeUndefined();
  });

  it('1,000,000 evictions at 100,000 entries without ever iterating a Map', () => {
    const spies = [vi.spyOn(Map.prototype, 'keys'), vi.spyOn(Map.prototype, 'values'), vi.spyOn(Map.prototype, 'entries'), vi.spyOn(Map.prototype, 'forEach'), vi.spyOn(Map.prototype, Symbol.iterator)];
    const iterations = () => spies.reduce((n, s) => n + s.mock.calls.length, 0);
    // The spies see the shape this replaces: an eviction by `keys().next()`.
    new Map([[1, 1]]).keys().next();
    expect(iterations()).toBe(1);
    const size = 100_000;
    let evictions = 0;
    const map = new BoundedMap<number, number>({ limit: size, onEvict: () => evictions++ });
    for (let i = 0; i < size + 1_000_000; i++) map.set(i, i);
    expect(iterations()).toBe(1);
    expect(evictions).toBe(1_000_000);
    expect(map.size).toBe(size);
    expect(map.get(1_000_000 - 1)).toBeUndefined();
    expect(map.get(1_000_000)).toBe(1_000_000);
    expect(map.get(size + 1_000_000 - 1)).toBe(size + 1_000_000 - 1);
  });
});

/**
 * Eviction under churn at a constant size: a cache of `--size` entries, full, then `--evictions` new keys each dropping the oldest.
 * "before" is the shape the caches used until BoundedMap (`map.delete(map.keys().next().value)`
 * on a plain Map, whose deleted slots at the front every `keys().next()` walks past until
 * the next rehash); "after" is src/bounded-map.ts. Prints the total and the worst single
 * eviction of each, and the load average.
 *
 *   npx node bench/bounded-map.ts [--size 100000] [--evictions 10000,20000,40000] [--after-only 1000000]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BoundedMap } from '../src/bounded-map.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '100000' }, evictions: { type: 'string', default: '10000,20000,40000' }, 'after-only': { type: 'string', default: '1000000' } } });
const size = Number(values.size);

/** Total and worst single eviction, in ms, of `evictions` inserts past a full cache. */
function churn(evictions: number, insert: (k: number) => void): { total: number; worst: number } {
  for (let k = 0; k < size; k++) insert(k);
  let worst = 0;
  const start = performance.now();
  for (let k = size; k < size + evictions; k++) {
    const t = performance.now();
    insert(k);
    worst = Math.max(worst, performance.now() - t);
  }
  return { total: performance.now() - start, worst };
}

function before(evictions: number) {
  const map = new Map<number, number>();
  return churn(evictions, (k) => {
    if (map.size >= size) map.delete(map.keys().next().value as number);
    map.set(k, k);
  });
}

function after(evictions: number) {
  const map = new BoundedMap<number, number>({ limit: size });
  return churn(evictions, (k) => map.set(k, k));
}

const ms = (r: { total: number; worst: number }) => `${r.total.toFixed(0)} ms (worst ${r.worst.toFixed(2)} ms)`;
console.log(`size ${size}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const n of values.evictions.split(',').map(Number)) console.log(`${n} evictions: before ${ms(before(n))}, after ${ms(after(n))}`);
const n = Number(values['after-only']);
if (n > 0) console.log(`${n} evictions: after ${ms(after(n))} (before not run: quadratic)`);
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

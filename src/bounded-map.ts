/**
 * A map that keeps at most `limit` in all (entries, or their weights), dropping the entry set
 * longest ago first. The order is that of the last `set` of each key: `get` does not change
 * it, so a cache that wants least-recently-used order sets a hit again, and one that wants
 * first-in-first-out does not.
 *
 * Why not `map.delete(map.keys().next().value)`: under churn at a constant size, V8's Map
 * keeps deleted slots at the front of its table until the next rehash and every
 * `keys().next()` walks past all of them, so eviction grows quadratic. Here the order is a
 * linked list of the entries: the oldest is one pointer away, and the Map is never iterated.
 */

interface Node<K, V> {
  readonly key: K;
  value: V;
  weight: number;
  older: Node<K, V> | undefined;
  newer: Node<K, V> | undefined;
}

export interface BoundedMapOptions<K, V> {
  /** Most total weight kept (exactly this bound, never more); 0 keeps nothing of positive weight. */
  readonly limit: number;
  /** An entry's weight (a non-negative number, read once per `set`). @defaultValue 1 each, so `limit` counts entries */
  readonly weigh?: (value: V, key: K) => number;
  /** Told of each entry dropped to honour `limit` (not of `delete`, `clear` or a `set` that replaces). */
  readonly onEvict?: (key: K, value: V) => void;
}

export class BoundedMap<K, V> {
  readonly #nodes = new Map<K, Node<K, V>>();
  readonly #limit: number;
  readonly #weigh: ((value: V, key: K) => number) | undefined;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;
  #oldest: Node<K, V> | undefined;
  #newest: Node<K, V> | undefined;
  #total = 0;

  constructor(opts: BoundedMapOptions<K, V>) {
    this.#limit = opts.limit;
    this.#weigh = opts.weigh;
    this.#onEvict = opts.onEvict;
  }

  /** How many entries are kept. */
  get size(): number {
    return this.#nodes.size;
  }

  /** The total weight kept (`size` when there is no `weigh`); never above `limit` between calls. */
  get total(): number {
    return this.#total;
  }

  /** The value of `key`, or undefined; the order is left as it is. */
  get(key: K): V | undefined {
    return this.#nodes.get(key)?.value;
  }

  /**
   * Keeps `value` as `key`'s, as the newest entry (moved there if `key` was kept), then drops
   * the oldest entries, `onEvict` told of each, while the total is above `limit`; that may be
   * this one when its weight alone is above `limit`. O(1) amortized: each entry is dropped once.
   */
  set(key: K, value: V): void {
    const weight = this.#weigh === undefined ? 1 : this.#weigh(value, key);
    let node = this.#nodes.get(key);
    if (node === undefined) {
      node = { key, value, weight, older: undefined, newer: undefined };
      this.#nodes.set(key, node);
    } else {
      this.#unlink(node);
      this.#total -= node.weight;
      node.value = value;
      node.weight = weight;
    }
    this.#total += weight;
    node.older = this.#newest;
    if (this.#newest === undefined) this.#oldest = node;
    else this.#newest.newer = node;
    this.#newest = node;
    while (this.#total > this.#limit && this.#oldest !== undefined) {
      const dropped = this.#oldest;
      this.#remove(dropped);
      this.#onEvict?.(dropped.key, dropped.value);
    }
  }

  /** The key set longest ago, or undefined when nothing is kept. */
  oldestKey(): K | undefined {
    return this.#oldest?.key;
  }

  /** The values kept, the oldest first; the order is left as it is. */
  *values(): IterableIterator<V> {
    for (let node = this.#oldest; node !== undefined; node = node.newer) yield node.value;
  }

  /** Drops `key`; true when it was kept. */
  delete(key: K): boolean {
    const node = this.#nodes.get(key);
    if (node === undefined) return false;
    this.#remove(node);
    return true;
  }

  /** Drops every entry. */
  clear(): void {
    this.#nodes.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
    this.#total = 0;
  }

  #remove(node: Node<K, V>): void {
    this.#unlink(node);
    this.#nodes.delete(node.key);
    this.#total -= node.weight;
  }

  #unlink(node: Node<K, V>): void {
    if (node.older === undefined) this.#oldest = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.#newest = node.older;
    else node.newer.older = node.older;
    node.older = undefined;
    node.newer = undefined;
  }
}

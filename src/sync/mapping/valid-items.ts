/**
 * ValidItemTexts: item texts known to pass their usage's validation, by list context
 * (BoundList.context). For a usage whose rules on an item depend on that item alone
 * (ElementListSpec.standAloneItems), an item whose exact text passed in a list of the same
 * context passes again, so a run writing the same directory into every user's document
 * validates each entry once, not once per user. Bounded: past `max` texts it starts over.
 *
 * Runs of one tick go on at once: a run claims the texts it is about to validate, and a run
 * needing the same texts waits for that outcome (`settled`) instead of validating them too.
 */
export class ValidItemTexts {
  readonly #byContext = new Map<string, Set<string>>();
  /** Texts being validated by a run, by context, with that run's outcome. */
  readonly #pending = new Map<string, Map<string, Promise<void>>>();
  readonly #max: number;
  #size = 0;

  /** @param max Most texts remembered (about their total length in memory, times `max`). */
  constructor(max = 200_000) {
    this.#max = max;
  }

  has(context: string, text: string): boolean {
    return this.#byContext.get(context)?.has(text) === true;
  }

  /**
   * The outcome of the runs validating any of `texts` in `context` now, or `undefined`
   * when none is (then `claim` may follow at once, with no await in between).
   */
  pending(context: string, texts: readonly string[]): Promise<unknown> | undefined {
    const pending = this.#pending.get(context);
    if (!pending) return undefined;
    const waits = new Set<Promise<void>>();
    for (const t of texts) {
      const p = pending.get(t);
      if (p) waits.add(p);
    }
    return waits.size === 0 ? undefined : Promise.all(waits);
  }

  /**
   * Marks `texts` as being validated by the caller; `settle(true)` once they passed (they
   * become known valid), `settle(false)` when they did not or the run gave up. Only the
   * first call counts.
   */
  claim(context: string, texts: readonly string[]): (valid: boolean) => void {
    let pending = this.#pending.get(context);
    if (!pending) this.#pending.set(context, (pending = new Map()));
    let done!: () => void;
    const outcome = new Promise<void>((r) => (done = r));
    for (const t of texts) pending.set(t, outcome);
    let settled = false;
    return (valid) => {
      if (settled) return;
      settled = true;
      if (valid) this.add(context, texts);
      const map = this.#pending.get(context);
      if (map) {
        for (const t of texts) if (map.get(t) === outcome) map.delete(t);
        if (map.size === 0) this.#pending.delete(context);
      }
      done();
    };
  }

  /** Remembers `texts` as valid in `context`. */
  add(context: string, texts: Iterable<string>): void {
    let set = this.#byContext.get(context);
    if (!set) this.#byContext.set(context, (set = new Set()));
    for (const t of texts) {
      if (set.has(t)) continue;
      if (this.#size >= this.#max) {
        this.#byContext.clear();
        this.#size = 0;
        this.#byContext.set(context, (set = new Set()));
      }
      set.add(t);
      this.#size++;
    }
  }
}

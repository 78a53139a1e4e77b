/**
 * ValidItemTexts: item texts known to pass their usage's validation, by list context
 * (BoundList.context). For a usage whose rules on an item depend on that item alone
 * (ElementListSpec.standAloneItems), an item whose exact text passed in a list of the same
 * context passes again, so a run writing the same directory into every user's document
 * validates each entry once, not once per user. Bounded: past `max` texts it starts over.
 */
export class ValidItemTexts {
  readonly #byContext = new Map<string, Set<string>>();
  readonly #max: number;
  #size = 0;

  /** @param max Most texts remembered (about their total length in memory, times `max`). */
  constructor(max = 200_000) {
    this.#max = max;
  }

  has(context: string, text: string): boolean {
    return this.#byContext.get(context)?.has(text) === true;
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

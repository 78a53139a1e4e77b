/**
 * The names seen so far in one start tag, for the duplicate-attribute rule. Looks through
 * an array while there are few (the usual tag has a handful) and switches to a Set past
 * that, so a tag with 50,000 attributes costs 50,000 look-ups, not 50,000² / 2.
 */
const FEW = 16;

export class NameSet {
  readonly #few: string[] = [];
  readonly #many = new Set<string>();
  #count = 0;

  clear(): void {
    if (this.#count >= FEW) this.#many.clear();
    this.#count = 0;
  }

  /** Adds `name`; false when it was already there. */
  add(name: string): boolean {
    const few = this.#few;
    if (this.#count < FEW) {
      for (let k = 0; k < this.#count; k++) if (few[k] === name) return false;
      few[this.#count++] = name;
      return true;
    }
    if (this.#count === FEW) for (let k = 0; k < FEW; k++) this.#many.add(few[k] as string);
    const size = this.#many.size;
    if (this.#many.add(name).size === size) return false;
    this.#count++;
    return true;
  }
}

/**
 * Pages for phones that browse: a page holds as many whole contacts as fit a limit
 * (bytes for Yealink, rows for Cisco and Snom), so a large directory is served one small
 * object at a time and never written whole. Page starts are computed once per book and
 * kind of page and kept with the book (books are cached per document version).
 */
import type { Book, BookContact, DialNumber, RenderRequest } from './format.ts';
import type { XmlWriter } from './xml-writer.ts';

const starts = new WeakMap<Book, Map<string, readonly number[]>>();

/**
 * Index of the first contact of every page: contacts are added while the sum of their
 * `weight` stays within `limit`; a contact heavier than the limit gets a page of its own.
 * `key` names the weighting (same key, same weights). An empty book has one empty page.
 */
export function pageStarts(book: Book, key: string, limit: number, weight: (c: BookContact) => number): readonly number[] {
  let byKey = starts.get(book);
  if (!byKey) starts.set(book, (byKey = new Map()));
  const cached = byKey.get(key);
  if (cached) return cached;
  const out = [0];
  let sum = 0;
  book.contacts.forEach((c, i) => {
    const w = weight(c);
    if (sum + w > limit && sum > 0) {
      out.push(i);
      sum = 0;
    }
    sum += w;
  });
  byKey.set(key, out);
  return out;
}

/** The contacts of 1-based `page`, whether another page follows, and the page count; `undefined` past the end. */
export function pageOf(book: Book, bounds: readonly number[], page: number): { contacts: readonly BookContact[]; pages: number; next: boolean } | undefined {
  if (!Number.isSafeInteger(page) || page < 1 || page > bounds.length) return undefined;
  const from = bounds[page - 1] as number;
  const to = page < bounds.length ? (bounds[page] as number) : book.contacts.length;
  return { contacts: book.contacts.slice(from, to), pages: bounds.length, next: page < bounds.length };
}

const KIND_LABEL: Record<DialNumber['kind'], string> = { work: 'work', mobile: 'mobile', home: 'home' };

/**
 * One row per number for formats whose entries carry a single number (Cisco, Snom, Polycom):
 * the first keeps the name, the others say which number they are (`Alice Archer (mobile)`).
 */
export function rowsOf(c: BookContact): { label: string; suffix: string; number: DialNumber }[] {
  return c.numbers.map((n, i) => {
    const suffix = i === 0 ? '' : ` (${KIND_LABEL[n.kind]})`;
    return { label: c.name + suffix, suffix, number: n };
  });
}

/**
 * The body as chunks of about 32 KiB: `each` writes one item at a time into `w`, `end`
 * closes the document; nothing bigger than a chunk is held at once.
 */
export function* streamed<T>(w: XmlWriter, items: Iterable<T>, each: (item: T, w: XmlWriter) => void, end: (w: XmlWriter) => void): Generator<string> {
  for (const item of items) {
    each(item, w);
    if (w.buffered >= 32 * 1024) yield w.drain();
  }
  end(w);
  yield w.drain();
}

/** Query parameters of the page after `req`'s (the search kept). */
export function nextPage(req: RenderRequest): Record<string, string> {
  return req.query ? { page: String(req.page + 1), q: req.query } : { page: String(req.page + 1) };
}

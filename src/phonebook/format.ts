/**
 * The phonebook format contract: what one vendor file format (a module in formats/) gets
 * and what it must give back. The HTTP handler (handler.ts) does everything around it:
 * authentication, reading the document, numbers in the phone's style, duplicates, search,
 * caching headers; a format only lays out a prepared book.
 *
 * Terminology
 * - BOOK: the contacts of one request, in document order, each with the numbers this phone
 *   dials (already styled, a contact's own duplicates removed, and for formats with
 *   `uniqueNumbers` each number kept only by its first contact). Contacts without a number
 *   are never in a book.
 * - PAGE: formats whose phones browse (Cisco, Yealink, Snom minibrowser) serve one page per
 *   request, `page` 1-based; files a phone stores whole (Grandstream, Polycom, tbook) have
 *   one page.
 *
 * Deliberately not here: escaping (xml-writer.ts, used by every format), number styles
 * (numbers.ts), HTTP.
 */

/** Every format served at `/phonebook/{format}/...`. */
export const FORMAT_NAMES = ['yealink', 'yealink-book', 'grandstream', 'polycom', 'snom', 'snom-v2', 'snom-browser', 'cisco', 'cisco-search'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** Kinds of numbers, from the entry fields that hold them (config `phonebook.fields`). */
export type NumberKind = 'work' | 'mobile' | 'home';

export interface DialNumber {
  readonly kind: NumberKind;
  /** What the phone dials, in its style (`+493012345678`, `03012345678`, `5678`). */
  readonly dial: string;
}

export interface BookContact {
  /** Display name (never empty: the entry's name, else its number). */
  readonly name: string;
  readonly firstName: string;
  readonly lastName: string;
  /** Index into `Book.groups`. */
  readonly group: number;
  /** At least one. */
  readonly numbers: readonly DialNumber[];
  /** Speed-dial index the user gave the contact on a Polycom phone (field `speed-dial`), or empty. */
  readonly speedDial: string;
  /** From a list the user keeps (not one a sync binding manages): Polycom watches these (`bw`). */
  readonly own: boolean;
}

export interface Book {
  /** Group (list) display names, in document order. */
  readonly groups: readonly string[];
  readonly contacts: readonly BookContact[];
  /** Title for formats that show one (the list's display name, or the document's for `*`). */
  readonly title: string;
}

export interface RenderRequest {
  readonly book: Book;
  /** 1-based page asked for (1 when the URL has none). */
  readonly page: number;
  /** The `?q=` search, for formats with `search` (the book is already filtered by it). */
  readonly query: string | undefined;
  /**
   * Absolute URL of this phonebook in `format` (default: this one) with these query
   * parameters added to the ones that must stay (device token, group): next-page and
   * search links.
   */
  link(params: Readonly<Record<string, string>>, format?: FormatName): string;
  /** Largest Yealink XML object in bytes (config `phonebook.yealinkMaxObjectBytes`). */
  readonly yealinkMaxObjectBytes: number;
  /** Entries per Snom minibrowser page (config `phonebook.snomPageSize`). */
  readonly snomPageSize: number;
}

export interface Rendered {
  /** The body, in order; written to the response one chunk at a time. */
  readonly chunks: Iterable<string>;
  /** Extra response headers (Cisco's `Refresh` to the next page). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PhonebookFormat {
  readonly name: FormatName;
  /** Response Content-Type, always with `charset=utf-8`. */
  readonly contentType: string;
  /** Each number appears once per file (Snom and Polycom phones key contacts by number). */
  readonly uniqueNumbers: boolean;
  /** Honours `?q=` (a search flow on the phone). */
  readonly search: boolean;
  /**
   * Lays out `req.book` (the page asked for). Must be a pure function of `req`; it may be
   * consumed lazily. Returns `undefined` when the page does not exist (the handler answers
   * 404); page 1 of an empty book exists.
   */
  render(req: RenderRequest): Rendered | undefined;
}

/**
 * From lists to a book (format.ts): each entry becomes a contact with its names and the
 * numbers this phone dials. Entries without any dialable number are left out and counted;
 * a contact's repeated numbers are collapsed; with `uniqueNumbers` a number already
 * used by an earlier contact of the file is dropped (Snom and Polycom key contacts by
 * number), and a contact left without numbers counts as a duplicate.
 */
import type { PhonebookConfig } from './config.ts';
import type { Book, BookContact, DialNumber, NumberKind } from './format.ts';
import type { EntryList, ListEntry } from './lists.ts';
import type { NumberStyle } from './numbers.ts';

export interface BuiltBook {
  readonly book: Book;
  /** Entries left out for want of a dialable number. */
  readonly undialable: number;
  /** Entries left out because every number they had was an earlier contact's. */
  readonly duplicates: number;
}

export interface BookOptions {
  readonly fields: PhonebookConfig['fields'];
  readonly style: NumberStyle;
  readonly uniqueNumbers: boolean;
  /** Whether the list of this name is managed by a sync binding (not the user's own). */
  readonly managed: (list: string) => boolean;
  readonly title: string;
}

const KINDS: readonly NumberKind[] = ['work', 'mobile', 'home'];

/** Entry field keeping a Polycom speed-dial index (written by directory uploads). */
export const SPEED_DIAL = 'speed-dial';

export function buildBook(lists: readonly EntryList[], opts: BookOptions): BuiltBook {
  const contacts: BookContact[] = [];
  const used = new Set<string>();
  let undialable = 0;
  let duplicates = 0;
  lists.forEach((list, group) => {
    const own = !opts.managed(list.name);
    for (const entry of list.entries) {
      let numbers = numbersOf(entry, opts);
      if (numbers.length === 0) {
        undialable++;
        continue;
      }
      if (opts.uniqueNumbers) {
        numbers = numbers.filter((n) => !used.has(n.dial));
        if (numbers.length === 0) {
          duplicates++;
          continue;
        }
        for (const n of numbers) used.add(n.dial);
      }
      contacts.push({ ...namesOf(entry, opts.fields, numbers[0]!.dial), group, numbers, own, speedDial: entry.fields.get(SPEED_DIAL) ?? '' });
    }
  });
  return { book: { groups: lists.map((l) => l.title), contacts, title: opts.title }, undialable, duplicates };
}

/** The entry's numbers in the phone's style, each once, work before mobile before home. */
function numbersOf(entry: ListEntry, opts: BookOptions): DialNumber[] {
  const out: DialNumber[] = [];
  const seen = new Set<string>();
  const add = (kind: NumberKind, value: string) => {
    const dial = opts.style.dial(value);
    if (dial === undefined || seen.has(dial)) return;
    seen.add(dial);
    out.push({ kind, dial });
  };
  const fromUri = uriNumber(entry.uri);
  if (fromUri !== undefined) add('work', fromUri);
  for (const kind of KINDS) {
    for (const field of opts.fields[kind]) {
      for (const v of (entry.fields.get(field) ?? '').split(',')) if (v.trim() !== '') add(kind, v.trim());
    }
  }
  return out;
}

/** The number a `tel:` URI or a `sip:` URI with a numeric user part stands for. */
function uriNumber(uri: string): string | undefined {
  const tel = /^tel:([^;]+)/i.exec(uri);
  if (tel) return tel[1];
  const sip = /^sips?:(\+?[0-9*#]+)@/i.exec(uri);
  return sip?.[1];
}

function namesOf(entry: ListEntry, fields: PhonebookConfig['fields'], fallback: string): Pick<BookContact, 'name' | 'firstName' | 'lastName'> {
  const first = fields.firstName.map((f) => entry.fields.get(f)?.trim()).find((v) => v);
  const last = fields.lastName.map((f) => entry.fields.get(f)?.trim()).find((v) => v);
  const display = entry.displayName;
  let firstName = first ?? '';
  let lastName = last ?? '';
  if (first === undefined && last === undefined && display !== '') {
    // "Alice Archer": the last word is the family name; a single word is a last name.
    const space = display.lastIndexOf(' ');
    firstName = space < 0 ? '' : display.slice(0, space).trim();
    lastName = space < 0 ? display : display.slice(space + 1);
  }
  const name = display !== '' ? display : [firstName, lastName].filter((s) => s !== '').join(' ') || fallback;
  return { name, firstName, lastName };
}

/** Lower case without diacritics, for searching (`Jürgen` is found by `jurg`). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The contacts `query` finds: a query of digits (and `+`) is a number prefix, matched
 * against the dialled form and its digits without the leading `+`/`00`; anything else is a
 * name prefix of the whole name or of any of its words.
 */
export function searchBook(book: Book, query: string): Book {
  const q = fold(query.trim());
  if (q === '') return book;
  const numeric = /^\+?[0-9*#]+$/.test(q);
  const digits = q.replace(/^\+/, '');
  const hit = numeric
    ? (c: BookContact) => c.numbers.some((n) => n.dial.startsWith(q) || n.dial.replace(/^(\+|00)/, '').startsWith(digits))
    : (c: BookContact) => {
        const name = fold(c.name);
        return name.startsWith(q) || name.split(/[\s,.-]+/).some((w) => w.startsWith(q)) || fold(c.firstName).startsWith(q) || fold(c.lastName).startsWith(q);
      };
  return { ...book, contacts: book.contacts.filter(hit) };
}

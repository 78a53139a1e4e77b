/**
 * Yealink phone book for DECT handsets and the remote phonebook's grouped form
 * (`YealinkIPPhoneBook`): a `Menu Name=` per group (list) holding a `Unit` per contact with
 * `Name` and `Phone1`..`Phone3` attributes (the first three numbers). One file, not paged.
 */
import type { PhonebookFormat } from '../format.ts';
import { streamed } from '../paging.ts';
import { XmlWriter } from '../xml-writer.ts';

export const yealinkBook: PhonebookFormat = {
  name: 'yealink-book',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const { book } = req;
    const w = new XmlWriter().open('YealinkIPPhoneBook').newline().leaf('Title', book.title).newline();
    // Contacts are in document order, so each group's contacts are consecutive.
    let open = -1;
    return {
      chunks: streamed(w, book.contacts, (c) => {
        if (c.group !== open) {
          if (open >= 0) w.close('Menu');
          w.open('Menu', { Name: book.groups[c.group] ?? '' }).newline();
          open = c.group;
        }
        const [p1, p2, p3] = c.numbers;
        w.empty('Unit', { Name: c.name, Phone1: p1?.dial ?? '', Phone2: p2?.dial ?? '', Phone3: p3?.dial ?? '', default_photo: 'Resource:' }).newline();
      }, () => {
        if (open >= 0) w.close('Menu');
        w.close('YealinkIPPhoneBook');
      }),
    };
  },
};

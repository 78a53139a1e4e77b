/**
 * Grandstream XML phonebook (`AddressBook`, GXP/GRP/GXV phonebook guides): `version`, a
 * `pbgroup` (`id`, `name`) per list, then a `Contact` per entry with `FirstName`,
 * `LastName`, a `Phone type="Work|Cell|Home"` (`phonenumber`, `accountindex` 0 = the first
 * account) per number and its `Group` id. One file, not paged.
 */
import type { NumberKind, PhonebookFormat } from '../format.ts';
import { streamed } from '../paging.ts';
import { XmlWriter } from '../xml-writer.ts';

const PHONE_TYPE: Record<NumberKind, string> = { work: 'Work', mobile: 'Cell', home: 'Home' };

export const grandstream: PhonebookFormat = {
  name: 'grandstream',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const { book } = req;
    const w = new XmlWriter().open('AddressBook').newline().leaf('version', 1).newline();
    book.groups.forEach((name, i) => w.open('pbgroup').leaf('id', i + 1).leaf('name', name).close('pbgroup'));
    return {
      chunks: streamed(w, book.contacts, (c) => {
        w.open('Contact');
        // Grandstream shows FirstName LastName; a contact known by one name only keeps it as the last name.
        w.leaf('FirstName', c.firstName).leaf('LastName', c.lastName === '' && c.firstName === '' ? c.name : c.lastName);
        for (const n of c.numbers) w.open('Phone', { type: PHONE_TYPE[n.kind] }).leaf('phonenumber', n.dial).leaf('accountindex', 0).close('Phone');
        w.leaf('Group', c.group + 1).close('Contact');
      }, () => w.close('AddressBook')),
    };
  },
};

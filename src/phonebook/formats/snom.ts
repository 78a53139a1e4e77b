/**
 * Snom phone books, three forms:
 * - `snom`: the settings-file `tbook complete="true"` (legacy form): an `item` per number
 *   with a unique `index` (0, 1, …), `context="active"` (call from the active identity),
 *   `type="none"`, and `name`, `first_name`, `last_name`, `number`, `number_type`
 *   (`business`, `mobile`, `home`). `complete="true"` makes the phone drop entries it
 *   no longer gets. Numbers are unique per file.
 * - `snom-v2`: the v2 directory (`tbook complete="true" e="2" version="2.0"`): a `contact`
 *   (`fav`, `vip`, `blocked`) with `first_name`, `last_name`, `group` and `numbers` /
 *   `number no= type= outgoing_id="0"`. Numbers are unique per file.
 * - `snom-browser`: the minibrowser `SnomIPPhoneDirectory` (`Title`, `Prompt`, a
 *   `DirectoryEntry` `Name` / `Telephone` per number), `phonebook.snomPageSize` rows a
 *   page, the next linked by a `SoftKeyItem` (`Name`, `Label`, `URL`). Searchable with `?q=`.
 */
import type { NumberKind, PhonebookFormat } from '../format.ts';
import { nextPage, pageOf, pageStarts, rowsOf, streamed } from '../paging.ts';
import { XmlWriter } from '../xml-writer.ts';

const NUMBER_TYPE: Record<NumberKind, string> = { work: 'business', mobile: 'mobile', home: 'home' };

export const snom: PhonebookFormat = {
  name: 'snom',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: true,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const w = new XmlWriter().open('tbook', { complete: 'true' }).newline();
    let index = 0;
    return {
      chunks: streamed(w, req.book.contacts, (c) => {
        for (const row of rowsOf(c)) {
          w.open('item', { context: 'active', type: 'none', index: index++ })
            .leaf('name', row.label)
            .leaf('first_name', c.firstName)
            .leaf('last_name', c.lastName)
            .leaf('number', row.number.dial)
            .leaf('number_type', NUMBER_TYPE[row.number.kind])
            .close('item');
        }
      }, () => w.close('tbook')),
    };
  },
};

export const snomV2: PhonebookFormat = {
  name: 'snom-v2',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: true,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const { book } = req;
    const w = new XmlWriter().open('tbook', { complete: 'true', e: 2, version: '2.0' }).newline();
    return {
      chunks: streamed(w, book.contacts, (c) => {
        w.open('contact', { fav: 'false', vip: 'false', blocked: 'false' })
          .leaf('first_name', c.firstName)
          .leaf('last_name', c.lastName === '' && c.firstName === '' ? c.name : c.lastName)
          .leaf('group', book.groups[c.group] ?? '')
          .open('numbers');
        for (const n of c.numbers) w.empty('number', { no: n.dial, type: NUMBER_TYPE[n.kind], outgoing_id: 0 });
        w.close('numbers').close('contact');
      }, () => w.close('tbook')),
    };
  },
};

export const snomBrowser: PhonebookFormat = {
  name: 'snom-browser',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: true,
  render(req) {
    const bounds = pageStarts(req.book, `rows:${req.snomPageSize}`, req.snomPageSize, (c) => c.numbers.length);
    const page = pageOf(req.book, bounds, req.page);
    if (!page) return undefined;
    const w = new XmlWriter().open('SnomIPPhoneDirectory').newline().leaf('Title', req.book.title).leaf('Prompt', `${req.page}/${page.pages}`).newline();
    return {
      chunks: streamed(w, page.contacts, (c) => {
        for (const row of rowsOf(c)) w.open('DirectoryEntry').leaf('Name', row.label).leaf('Telephone', row.number.dial).close('DirectoryEntry');
      }, () => {
        if (page.next) {
          w.open('SoftKeyItem').leaf('Name', 'F4').leaf('Label', 'Next').leaf('URL', req.link(nextPage(req))).close('SoftKeyItem');
        }
        w.close('SnomIPPhoneDirectory');
      }),
    };
  },
};

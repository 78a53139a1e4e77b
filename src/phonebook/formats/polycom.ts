/**
 * Polycom contact directory (`<MAC>-directory.xml`, SoundPoint/VVX administrator guides):
 * `directory` / `item_list` / an `item` per number with `fn`, `ln` (UTF-8, at most 40 bytes
 * each), `ct` (the contact: what is dialled; non-empty and unique within the file, so every
 * number appears once), `sd` (speed-dial index, when the user gave one) and `bw` (1 = watch
 * the buddy's presence: contacts of the user's own lists). One file, not paged; the phone
 * uploads its edits back (polycom-upload.ts).
 */
import type { PhonebookFormat } from '../format.ts';
import { rowsOf, streamed } from '../paging.ts';
import { truncateUtf8, XmlWriter } from '../xml-writer.ts';

/** Polycom's limit for `fn` and `ln`. */
export const POLYCOM_NAME_BYTES = 40;

export const polycom: PhonebookFormat = {
  name: 'polycom',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: true,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const w = new XmlWriter({ standalone: true }).open('directory').newline().open('item_list').newline();
    return {
      chunks: streamed(w, req.book.contacts, (c) => {
        for (const [i, row] of rowsOf(c).entries()) {
          const ln = c.lastName === '' && c.firstName === '' ? c.name : c.lastName;
          w.open('item')
            .leaf('ln', truncateUtf8(ln + row.suffix, POLYCOM_NAME_BYTES))
            .leaf('fn', truncateUtf8(c.firstName, POLYCOM_NAME_BYTES))
            .leaf('ct', row.number.dial)
            .leaf('sd', i === 0 ? c.speedDial : '')
            .leaf('bw', c.own ? 1 : 0)
            .close('item');
        }
      }, () => w.close('item_list').close('directory')),
    };
  },
};

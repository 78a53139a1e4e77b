/**
 * Yealink remote phonebook (`YealinkIPPhoneDirectory`): one `DirectoryEntry` per contact
 * with its `Name` and a `Telephone` per number. Yealink's XML browser guide caps an XML
 * object at 10,000 bytes, so a longer directory is paged: each page holds whole entries
 * within `phonebook.yealinkMaxObjectBytes`, and all but the last end with a `MenuItem`
 * (`Name`, `URL`) linking the next page, the form the remote phonebook uses for links.
 * Searchable with `?q=`.
 */
import type { BookContact, PhonebookFormat } from '../format.ts';
import { nextPage, pageOf, pageStarts, streamed } from '../paging.ts';
import { escapeText, XmlWriter } from '../xml-writer.ts';

/** Room kept for the root element, the declaration and the next-page link. */
const FRAME_BYTES = 1200;

function entryXml(c: BookContact): string {
  let s = `<DirectoryEntry><Name>${escapeText(c.name)}</Name>`;
  for (const n of c.numbers) s += `<Telephone>${escapeText(n.dial)}</Telephone>`;
  return `${s}</DirectoryEntry>\n`;
}

export const yealink: PhonebookFormat = {
  name: 'yealink',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: true,
  render(req) {
    const limit = Math.max(req.yealinkMaxObjectBytes - FRAME_BYTES, 1);
    const bounds = pageStarts(req.book, `yealink:${limit}`, limit, (c) => Buffer.byteLength(entryXml(c)));
    const page = pageOf(req.book, bounds, req.page);
    if (!page) return undefined;
    const w = new XmlWriter().open('YealinkIPPhoneDirectory').newline();
    return {
      chunks: streamed(w, page.contacts, (c) => w.markup(entryXml(c)), () => {
        if (page.next) {
          w.open('MenuItem').leaf('Name', `Next page (${req.page + 1}/${page.pages})`).leaf('URL', req.link(nextPage(req))).close('MenuItem');
        }
        w.close('YealinkIPPhoneDirectory');
      }),
    };
  },
};

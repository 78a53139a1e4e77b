/**
 * Cisco IP phone services (Cisco Unified IP Phone Services Application Development Notes):
 * - `cisco`: `CiscoIPPhoneDirectory` (`Title`, `Prompt`, a `DirectoryEntry` `Name` /
 *   `Telephone` per number). One object holds at most 32 entries; the next page is named by
 *   an HTTP `Refresh` header, which the phone follows on its Next softkey. Name, Telephone,
 *   Title and Prompt are cut to the 32 characters the phones show. Searchable with `?q=`.
 * - `cisco-search`: the `CiscoIPPhoneInput` form collecting a name or number prefix
 *   (`InputItem` with `QueryStringParam` `q`), sent to the `cisco` directory by GET.
 */
import type { PhonebookFormat } from '../format.ts';
import { nextPage, pageOf, pageStarts, rowsOf, streamed } from '../paging.ts';
import { XmlWriter } from '../xml-writer.ts';

/** Most `DirectoryEntry` objects in one `CiscoIPPhoneDirectory`. */
export const CISCO_PAGE_ENTRIES = 32;
const FIELD_CHARS = 32;

function cut(s: string): string {
  const chars = [...s];
  return chars.length <= FIELD_CHARS ? s : chars.slice(0, FIELD_CHARS).join('');
}

export const cisco: PhonebookFormat = {
  name: 'cisco',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: true,
  render(req) {
    const bounds = pageStarts(req.book, `rows:${CISCO_PAGE_ENTRIES}`, CISCO_PAGE_ENTRIES, (c) => c.numbers.length);
    const page = pageOf(req.book, bounds, req.page);
    if (!page) return undefined;
    const w = new XmlWriter().open('CiscoIPPhoneDirectory').newline().leaf('Title', cut(req.book.title)).leaf('Prompt', cut(`Page ${req.page} of ${page.pages}`)).newline();
    let rows = 0;
    const headers: Record<string, string> = {};
    if (page.next) {
      headers.Refresh = `0; url=${req.link(nextPage(req))}`;
    }
    return {
      headers,
      chunks: streamed(w, page.contacts, (c) => {
        for (const row of rowsOf(c)) {
          // A contact with more numbers than a page holds keeps the first 32.
          if (rows++ >= CISCO_PAGE_ENTRIES) return;
          w.open('DirectoryEntry').leaf('Name', cut(row.label)).leaf('Telephone', cut(row.number.dial)).close('DirectoryEntry');
        }
      }, () => w.close('CiscoIPPhoneDirectory')),
    };
  },
};

export const ciscoSearch: PhonebookFormat = {
  name: 'cisco-search',
  contentType: 'text/xml; charset=utf-8',
  uniqueNumbers: false,
  search: false,
  render(req) {
    if (req.page !== 1) return undefined;
    const w = new XmlWriter()
      .open('CiscoIPPhoneInput')
      .leaf('Title', cut(req.book.title))
      .leaf('Prompt', 'Name or number')
      .leaf('URL', req.link({}, 'cisco'))
      .open('InputItem')
      .leaf('DisplayName', 'Name or number')
      .leaf('QueryStringParam', 'q')
      .leaf('DefaultValue', '')
      .leaf('InputFlags', 'A')
      .close('InputItem')
      .close('CiscoIPPhoneInput');
    return { chunks: [w.drain()] };
  },
};

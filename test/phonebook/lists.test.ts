/**
 * Reading lists for the phonebooks (src/phonebook/lists.ts): the single-pass scanner and the
 * DOM it falls back to (here forced by a CDATA section) read the same lists, names decoded,
 * prefixed or default namespace alike.
 */
import { describe, expect, it } from 'vitest';
import { readLists } from '../../src/phonebook/lists.ts';

const doc = (listName: string) => `<?xml version="1.0" encoding="UTF-8"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:xcap-bridge:params:xml:ns:fields">
<rl:list name="a"><rl:display-name>${listName}</rl:display-name>
 <rl:entry uri="sip:1@x"><rl:display-name> J&#252;rgen &lt;Co&gt; </rl:display-name><x:field name="mobile">+49 171 1</x:field><x:other name="mobile">no</x:other></rl:entry>
 <rl:list name="nested"><rl:display-name>not the title</rl:display-name><rl:entry uri="tel:+4930"/></rl:list>
 <!-- a comment --><rl:entry-ref ref="resource-lists/users/sip:b@x/index/~~/resource-lists/list%5b@name=%22b%22%5d"/>
 <rl:external anchor="http://x/y"/>
</rl:list>
<rl:list name="b"/>
</rl:resource-lists>`;

const expected = [
  { name: 'a', title: 'A & B', entries: [
    { uri: 'sip:1@x', displayName: 'Jürgen <Co>', fields: new Map([['mobile', '+49 171 1']]) },
    { uri: 'tel:+4930', displayName: '', fields: new Map() },
  ] },
  { name: 'b', title: 'b', entries: [] },
];

describe('phonebook lists', () => {
  it('scanner path: top-level lists, nested entries flattened, entry-ref/external left out', () => {
    expect(readLists(doc('A &amp; B'))).toEqual(expected);
  });

  it('DOM path (CDATA is outside the scanner\'s shape) reads the same', () => {
    expect(readLists(doc('<![CDATA[A & B]]>'))).toEqual(expected);
  });

  it('a document that is not resource-lists has no lists', () => {
    expect(readLists('<other xmlns="urn:x"><list name="a"/></other>')).toEqual([]);
  });
});

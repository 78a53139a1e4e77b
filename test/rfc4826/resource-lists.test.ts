import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootElement } from '../../src/appusage/common/dom.ts';
import { schemaFile } from '../../src/appusage/common/paths.ts';
import { loadSchema } from '../../src/appusage/schema.ts';
import { checkListConstraints, resourceLists } from '../../src/appusage/resource-lists/index.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { ConstraintFailure, SchemaValidationError, UniquenessFailure } from '../../src/xcap/errors.ts';
import { ALICE, context, fixture, openStore, rejection, validate } from '../appusage/context.ts';

const KEY = { auid: 'resource-lists', xui: ALICE, path: 'index' };
const RL = 'xmlns="urn:ietf:params:xml:ns:resource-lists"';
let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

function rejectionSync(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const check = (text: string, lenient: string[] = []) => validate(resourceLists, text, context(store, KEY, lenient));
const example = fixture('rfc4826-resource-lists.xml');

describe('RFC 4826 §3.3 example document', () => {
  it('validates', async () => {
    await expect(check(example)).resolves.toBeUndefined();
  });
});

describe('RFC 4826 §3.4.3 schema', () => {
  it('rejects an unknown element in the resource-lists namespace', async () => {
    const err = await rejection(check(`<resource-lists ${RL}><list><bogus/></list></resource-lists>`));
    expect(err).toBeInstanceOf(SchemaValidationError);
  });

  it('accepts elements and attributes of other namespaces (extensibility)', async () => {
    const text = `<resource-lists ${RL} xmlns:x="urn:x"><list x:a="1"><entry uri="sip:a@b"><x:note>hi</x:note></entry><x:tail/></list></resource-lists>`;
    await expect(check(text)).resolves.toBeUndefined();
  });
});

describe('RFC 4826 §3.4.5 uniqueness: a repeat the schema check locates is named as the DOM walk names it', () => {
  // One repeat each, at several depths and positions, among siblings of other names and namespaces.
  const docs = [
    `<resource-lists ${RL}><list name="a"><entry uri="sip:a@x"/><entry uri="sip:a@x"/></list></resource-lists>`,
    `<resource-lists ${RL}><list name="a"/><list name="b"/><list name="a"/></resource-lists>`,
    `<resource-lists ${RL} xmlns:x="urn:x"><list name="o"><entry uri="sip:b@x"/><list name="i"><entry uri="sip:c@x"/><entry-ref ref="resource-lists/users/a/index/~~/x"/><entry uri="sip:d@x"/><entry uri="sip:c@x"/></list><x:entry uri="sip:c@x"/></list></resource-lists>`,
    `<resource-lists ${RL}><list name="p"/><list name="q"><list name="r"><external anchor="http://h/a"/><!-- c --><external anchor="http://h/b"/><external anchor="http://h/a"/></list></list></resource-lists>`,
    `<resource-lists ${RL}><list name="p"><entry uri="sip:a-1@x"/><entry uri="sip:a@x"/><entry uri="sip:a-2@x"/><entry uri="sip:a@x"/></list></resource-lists>`,
    example.replace('<entry uri="sip:nancy@example.com">', '<entry uri="sip:joe@example.com"><display-name>again</display-name></entry><entry uri="sip:nancy@example.com">'),
  ];

  const schema = loadSchema(schemaFile('resource-lists/resource-lists.xsd'), { imports: [schemaFile('common/xml.xsd')] });

  it.each(docs)('%s', async (text) => {
    // The schema check located the repeat (else the usage would fall back to the walk itself).
    const err = rejectionSync(() => schema.validate(text)) as SchemaValidationError;
    expect(err.repeated?.value).toMatch(/^(sip:|http:|[a-z])/);
    const located = (await rejection(check(text))) as UniquenessFailure;
    expect(located).toBeInstanceOf(UniquenessFailure);
    // The walk alone, on the parsed document, as it runs when nothing is located.
    const walked = rejectionSync(() => checkListConstraints(rootElement(parseDocument(text)), 'resource-lists')) as UniquenessFailure;
    expect(located.fields).toEqual(walked.fields);
    expect(located.phrase).toBe(walked.phrase);
  });
});

describe('RFC 4826 §3.4.5 uniqueness', () => {
  it('list names are unique among sibling lists, with the field and free alternatives', async () => {
    const text = example.replace('<list name="close-friends">', '<list name="x"/><list name="x">');
    const err = (await rejection(check(text))) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([{ field: 'resource-lists/list[1]/list[2]/@name', altValues: ['x-1', 'x-2'] }]);
  });

  it('the same list name is fine in different parents', async () => {
    const text = `<resource-lists ${RL}><list name="a"><list name="x"/></list><list name="b"><list name="x"/></list></resource-lists>`;
    await expect(check(text)).resolves.toBeUndefined();
  });

  it('top-level list names are unique', async () => {
    const err = (await rejection(check(`<resource-lists ${RL}><list name="a"/><list name="a"/></resource-lists>`))) as UniquenessFailure;
    expect(err.fields[0]?.field).toBe('resource-lists/list[2]/@name');
  });

  it('entry uris are unique among sibling entries; suggestions vary the user part', async () => {
    const text = example.replace('sip:nancy@example.com', 'sip:joe@example.com');
    const err = (await rejection(check(text))) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([
      { field: 'resource-lists/list[1]/list[1]/entry[2]/@uri', altValues: ['sip:joe-1@example.com', 'sip:joe-2@example.com'] },
    ]);
  });

  it('entry-ref refs and external anchors are unique among siblings', async () => {
    const ref = 'resource-lists/users/sip:b@example.com/index/~~/resource-lists/list/entry';
    const refs = await rejection(check(`<resource-lists ${RL}><list><entry-ref ref="${ref}"/><entry-ref ref="${ref}"/></list></resource-lists>`));
    expect((refs as UniquenessFailure).fields[0]?.field).toBe('resource-lists/list[1]/entry-ref[2]/@ref');
    const anchor = 'http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list';
    const ext = await rejection(check(`<resource-lists ${RL}><list><external anchor="${anchor}"/><external anchor="${anchor}"/></list></resource-lists>`));
    expect((ext as UniquenessFailure).fields[0]?.field).toBe('resource-lists/list[1]/external[2]/@anchor');
  });
});

describe('RFC 4826 §3.4.5 entry-ref and external URIs', () => {
  it('refuses an absolute entry-ref', async () => {
    const text = example.replace('ref="resource-lists/', 'ref="http://xcap.example.com/resource-lists/');
    expect(await rejection(check(text))).toBeInstanceOf(ConstraintFailure);
  });

  it('refuses an entry-ref outside resource-lists documents', async () => {
    const text = example.replace('ref="resource-lists/', 'ref="pres-rules/');
    expect(await rejection(check(text))).toBeInstanceOf(ConstraintFailure);
  });

  it('refuses an external anchor that is not an absolute HTTP URI', async () => {
    const text = example.replace('anchor="http://xcap.example.org/', 'anchor="sip:xcap.example.org/');
    expect(await rejection(check(text))).toBeInstanceOf(ConstraintFailure);
  });
});

describe('lenient entry-without-uri (Snom, Bria)', () => {
  const snom = `<resource-lists ${RL} xmlns:cp="counterpath:properties"><list name="buddies">
      <entry><display-name>Bob</display-name><cp:prop name="entry_id" value="1"/><cp:prop name="sip" value="bob@example.com"/></entry>
      <entry><display-name>Carol</display-name><cp:prop name="entry_id" value="2"/></entry>
      <entry uri="sip:dave@example.com"/>
    </list></resource-lists>`;

  it('fails schema validation without the flag', async () => {
    expect(await rejection(check(snom))).toBeInstanceOf(SchemaValidationError);
  });

  it('validates with the flag, and entries without uri do not clash with each other', async () => {
    await expect(check(snom, ['entry-without-uri'])).resolves.toBeUndefined();
  });

  it('still checks the rest of such entries with the flag', async () => {
    const bad = snom.replace('<display-name>Bob</display-name>', '<display-name>Bob</display-name><display-name>B</display-name>');
    expect(await rejection(check(bad, ['entry-without-uri']))).toBeInstanceOf(SchemaValidationError);
  });
});

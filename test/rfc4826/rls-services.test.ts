import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rlsServices } from '../../src/appusage/rls-services/index.ts';
import { createRegistry } from '../../src/appusage/registry.ts';
import type { DocKey, DocumentStore } from '../../src/store/types.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { ConstraintFailure, SchemaValidationError, UniquenessFailure } from '../../src/xcap/errors.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import { ALICE, context, fixture, openStore, rejection, validate } from '../appusage/context.ts';

const BOB = 'sip:bob@example.com';
const aliceKey = { auid: 'rls-services', xui: ALICE, path: 'index' };
const bobKey = { auid: 'rls-services', xui: BOB, path: 'index' };
/** The RFC's example document is joe's: its <resource-list> points into joe's resource-lists. */
const joeKey = { auid: 'rls-services', xui: 'sip:joe@example.com', path: 'index' };
const RLS = 'xmlns="urn:ietf:params:xml:ns:rls-services"';
const service = (uri: string) =>
  `<service uri="${uri}"><list xmlns:rl="urn:ietf:params:xml:ns:resource-lists"><rl:entry uri="sip:x@example.com"/></list></service>`;
const doc = (...services: string[]) => `<rls-services ${RLS}>${services.join('')}</rls-services>`;

let store: DocumentStore;
const stores: DocumentStore[] = [];
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store.close();
  await Promise.all(stores.map((s) => s.close()));
});

/** Whole-document writes as the XCAP core makes them: validated, then stored with the document's service URIs. */
async function writerOn(on?: DocumentStore) {
  const target = on ?? (await openStore());
  if (on === undefined) stores.push(target);
  const writer = new DocumentWriter({ store: target, usages: await createRegistry() });
  const put = (key: DocKey, body: string) => writer.write({ key, body, expect: 'any', origin: 'xcap' });
  return { writer, put };
}

const example = fixture('rfc4826-rls-services.xml');

describe('RFC 4826 §4.3 example document', () => {
  it('validates', async () => {
    await expect(validate(rlsServices, example, context(store, joeKey))).resolves.toBeUndefined();
  });

  it('needs a resource-list or a list in every service', async () => {
    const err = await rejection(validate(rlsServices, doc('<service uri="sip:s@example.com"/>'), context(store, aliceKey)));
    expect(err).toBeInstanceOf(SchemaValidationError);
  });
});

describe('RFC 4826 §4.4.5 constraints', () => {
  it('service uris are unique within the document', async () => {
    const text = doc(service('sip:s@example.com'), service('sip:s@example.com'));
    const err = (await rejection(validate(rlsServices, text, context(store, aliceKey)))) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([
      { field: 'rls-services/service[2]/@uri', altValues: ['sip:s-1@example.com', 'sip:s-2@example.com'] },
    ]);
  });

  it('service uris are unique across every user, and suggestions avoid uris taken anywhere', async () => {
    const { writer, put } = await writerOn();
    await put(bobKey, doc(service('sip:team@example.com'), service('sip:team-1@example.com')));
    const err = (await rejection(put(aliceKey, doc(service('sip:mine@example.com'), service('sip:team@example.com'))))) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([
      { field: 'rls-services/service[2]/@uri', altValues: ['sip:team-2@example.com', 'sip:team-3@example.com'] },
    ]);
    expect(await writer.store.get(aliceKey)).toBeUndefined();
    // Rewriting the owner's own document with its own URIs is not a conflict.
    await put(bobKey, doc(service('sip:team@example.com')));
  });

  it('a URI another user gave up is free, one still held is not', async () => {
    const { put } = await writerOn();
    await put(bobKey, doc(service('sip:team@example.com')));
    await put(bobKey, doc(service('sip:later@example.com')));
    await put(aliceKey, doc(service('sip:team@example.com')));
    expect(await rejection(put(aliceKey, doc(service('sip:later@example.com'))))).toBeInstanceOf(UniquenessFailure);
  });

  it('ten users writing one URI at once: one gets it, nine get uniqueness-failure', async () => {
    const { put } = await writerOn();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => put({ ...aliceKey, xui: `sip:u${i}@example.com` }, doc(service('sip:race@example.com')))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof UniquenessFailure)).toHaveLength(9);
  });

  it('documents stored before service URIs were kept apart are counted from the first write on', async () => {
    const fresh = await openStore();
    try {
      // As a database of an older version holds it: the document without its recorded URIs.
      await fresh.put(bobKey, doc(service('sip:old@example.com')), 'absent');
      const { put } = await writerOn(fresh);
      expect(await rejection(put(aliceKey, doc(service('sip:old@example.com'))))).toBeInstanceOf(UniquenessFailure);
      await put(bobKey, doc(service('sip:old@example.com'), service('sip:new@example.com')));
    } finally {
      await fresh.close();
    }
  });

  it('a resource-list must point into resource-lists below this XCAP root', async () => {
    const other = example.replace('/xcap-root/resource-lists/', '/elsewhere/resource-lists/');
    expect(await rejection(validate(rlsServices, other, context(store, joeKey)))).toBeInstanceOf(ConstraintFailure);
    const relative = example.replace('http://xcap.example.com/xcap-root/', '');
    expect(await rejection(validate(rlsServices, relative, context(store, joeKey)))).toBeInstanceOf(ConstraintFailure);
  });

  it('accepts a resource-list under a root written with the realm (eyeBeam style)', async () => {
    const withRealm = example.replace('/xcap-root/', '/xcap-root@example.com/');
    await expect(validate(rlsServices, withRealm, context(store, joeKey))).resolves.toBeUndefined();
  });

  it('an inline list follows the resource-lists rules', async () => {
    const text = example.replace('sip:sudhir@example.com', 'sip:joe@example.com');
    const err = (await rejection(validate(rlsServices, text, context(store, joeKey)))) as UniquenessFailure;
    expect(err.fields[0]?.field).toBe('rls-services/service[2]/list/entry[2]/@uri');
  });
});

describe('RFC 4826 §4.4.8 global/index is generated', () => {
  it('is the union of every user\'s index services', async () => {
    await store.put(aliceKey, example, 'any');
    await store.put(bobKey, doc(service('sip:bobs@example.com')), 'any');
    await store.put({ ...bobKey, path: 'other' }, doc(service('sip:not-index@example.com')), 'any');
    const globalKey = { auid: 'rls-services', xui: null, path: 'index' };
    const body = await rlsServices.generated?.(globalKey, context(store, globalKey), { xui: ALICE, admin: false });
    const union = parseDocument(body ?? '');
    const uris = Array.from(union.getElementsByTagNameNS('urn:ietf:params:xml:ns:rls-services', 'service')).map((s) =>
      s.getAttribute('uri'),
    );
    expect(uris).toEqual(['sip:mybuddies@example.com', 'sip:marketing@example.com', 'sip:bobs@example.com']);
    const entries = union.getElementsByTagNameNS('urn:ietf:params:xml:ns:resource-lists', 'entry');
    expect(entries.length).toBe(3);
  });

  it('generates nothing for stored documents', async () => {
    await expect(rlsServices.generated?.(aliceKey, context(store, aliceKey), { xui: ALICE, admin: false })).resolves.toBeUndefined();
  });
});

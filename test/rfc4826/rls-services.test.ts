import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rlsServices } from '../../src/appusage/rls-services/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
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
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

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
    await store.put(bobKey, doc(service('sip:team@example.com'), service('sip:team-1@example.com')), 'any');
    const err = (await rejection(
      validate(rlsServices, doc(service('sip:mine@example.com'), service('sip:team@example.com')), context(store, aliceKey)),
    )) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([
      { field: 'rls-services/service[2]/@uri', altValues: ['sip:team-2@example.com', 'sip:team-3@example.com'] },
    ]);
    // Rewriting the owner's own document with its own URIs is not a conflict.
    await expect(validate(rlsServices, doc(service('sip:team@example.com')), context(store, bobKey))).resolves.toBeUndefined();
  });

  it('sees the current version of another user\'s document', async () => {
    await store.put(bobKey, doc(service('sip:later@example.com')), 'any');
    await expect(validate(rlsServices, doc(service('sip:team@example.com')), context(store, aliceKey))).resolves.toBeUndefined();
    await expect(
      rejection(validate(rlsServices, doc(service('sip:later@example.com')), context(store, aliceKey))),
    ).resolves.toBeInstanceOf(UniquenessFailure);
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

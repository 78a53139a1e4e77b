import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { omaPresRules } from '../../src/appusage/oma-pres-rules/index.ts';
import { createPresContentUsage } from '../../src/appusage/pres-content/index.ts';
import { xcapDirectory } from '../../src/appusage/xcap-directory/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { ConstraintFailure, SchemaValidationError } from '../../src/xcap/errors.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import { ALICE, context, openStore, rejection, validate } from '../appusage/context.ts';

let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

describe('OMA Presence XDM org.openmobilealliance.pres-rules', () => {
  const KEY = { auid: omaPresRules.auid, xui: ALICE, path: 'pres-rules' };
  const ruleset = (conditions: string) => `<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"
      xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy" xmlns:op="urn:oma:xml:prs:pres-rules">
    <cr:rule id="wp_prs_allow_own_list"><cr:conditions>${conditions}</cr:conditions>
      <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
      <cr:transformations><op:provide-willingness>true</op:provide-willingness><pr:provide-services><pr:all-services/></pr:provide-services></cr:transformations>
    </cr:rule></cr:ruleset>`;

  it('validates OMA conditions (external-list, anonymous-request, other-identity) and lax OMA transformations', async () => {
    const ext = '<ocp:external-list><ocp:entry anc="http://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22oma_allowedlist%22%5D"/></ocp:external-list>';
    await expect(validate(omaPresRules, ruleset(ext), context(store, KEY))).resolves.toBeUndefined();
    await expect(validate(omaPresRules, ruleset('<ocp:anonymous-request/>'), context(store, KEY))).resolves.toBeUndefined();
    await expect(validate(omaPresRules, ruleset('<ocp:other-identity/>'), context(store, KEY))).resolves.toBeUndefined();
    expect(omaPresRules.mimeType).toBe('application/auth-policy+xml');
  });

  it('rejects an external-list entry without anc', async () => {
    const err = await rejection(validate(omaPresRules, ruleset('<ocp:external-list><ocp:entry/></ocp:external-list>'), context(store, KEY)));
    expect(err).toBeInstanceOf(SchemaValidationError);
  });
});

describe('OMA XDM org.openmobilealliance.xcap-directory', () => {
  it('lists the user\'s documents per auid with ETags, and only theirs', async () => {
    const rl = await store.put({ auid: 'resource-lists', xui: ALICE, path: 'index' }, '<x/>', 'any');
    const pr = await store.put({ auid: 'pres-rules', xui: ALICE, path: 'index' }, '<y>é</y>', 'any');
    await store.put({ auid: 'resource-lists', xui: 'sip:bob@example.com', path: 'index' }, '<z/>', 'any');
    const key = { auid: xcapDirectory.auid, xui: ALICE, path: 'directory.xml' };
    const body = (await xcapDirectory.generated?.(key, context(store, key), { xui: ALICE, admin: false })) ?? '';
    await expect(validate(xcapDirectory, body, context(store, key))).resolves.toBeUndefined();
    const doc = parseDocument(body);
    const folders = Array.from(doc.getElementsByTagNameNS('urn:oma:xml:xdm:xcap-directory', 'folder'));
    expect(folders.map((f) => f.getAttribute('auid'))).toEqual(['pres-rules', 'resource-lists']);
    const entries = Array.from(doc.getElementsByTagNameNS('urn:oma:xml:xdm:xcap-directory', 'entry'));
    expect(entries.map((e) => [e.getAttribute('uri'), e.getAttribute('etag'), e.getAttribute('size')])).toEqual([
      ['/xcap-root/pres-rules/users/sip:alice@example.com/index', pr.etag, '9'],
      ['/xcap-root/resource-lists/users/sip:alice@example.com/index', rl.etag, '4'],
    ]);
  });

  it('is read-only and generates nothing for other names', async () => {
    expect(xcapDirectory.authorize?.({ xui: ALICE, admin: true }, { auid: xcapDirectory.auid, xui: ALICE, path: 'directory.xml' }, 'write')).toBe(false);
    const other = { auid: xcapDirectory.auid, xui: ALICE, path: 'other.xml' };
    await expect(xcapDirectory.generated?.(other, context(store, other), { xui: ALICE, admin: false })).resolves.toBeUndefined();
  });
});

describe('OMA Presence Content XDM org.openmobilealliance.pres-content', () => {
  const usage = createPresContentUsage();
  const KEY = { auid: usage.auid, xui: ALICE, path: 'oma_status-icon/rcs_status_icon' };
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString('base64');
  const GIF = Buffer.from('GIF89a....').toString('base64');
  const content = (mime: string, data: string, encoding = 'base64') =>
    `<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>${mime}</mime-type><encoding>${encoding}</encoding><description>me</description><data>${data}</data></content>`;
  const check = (text: string) => validate(usage, text, context(store, KEY));

  it('accepts a PNG declared as image/png, and a GIF', async () => {
    await expect(check(content('image/png', PNG))).resolves.toBeUndefined();
    await expect(check(content('image/gif', GIF))).resolves.toBeUndefined();
  });

  it('refuses a declared type that the bytes contradict', async () => {
    expect(await rejection(check(content('image/jpeg', PNG)))).toBeInstanceOf(ConstraintFailure);
  });

  it('refuses data that is not an allowed image', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64');
    expect(await rejection(check(content('image/svg+xml', svg)))).toBeInstanceOf(ConstraintFailure);
  });

  it('refuses an encoding other than base64 and malformed base64', async () => {
    expect(await rejection(check(content('image/png', PNG, 'quoted-printable')))).toBeInstanceOf(ConstraintFailure);
    expect(await rejection(check(content('image/png', 'iVBOR*w0K')))).toBeInstanceOf(ConstraintFailure);
  });

  it('refuses a document without data (schema)', async () => {
    const text = '<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type></content>';
    expect(await rejection(check(text))).toBeInstanceOf(SchemaValidationError);
  });

  it('limits documents to 300 KiB unless configured', () => {
    expect(usage.maxDocumentBytes).toBe(300 * 1024);
    expect(createPresContentUsage({ maxDocumentBytes: 1000 }).maxDocumentBytes).toBe(1000);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/appusage/registry.ts';
import { schemaFile } from '../../src/appusage/common/paths.ts';
import { loadSchema } from '../../src/appusage/schema.ts';
import { validateXcapErrorBody } from '../../src/appusage/xcap-error/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import {
  ConstraintFailure,
  NoParent,
  SchemaValidationError,
  UniquenessFailure,
  XCAP_CONFLICTS,
  XCAP_ERROR_NS,
} from '../../src/xcap/errors.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import { ALICE, context, openStore, rejection, validate } from './context.ts';

let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

const dir = mkdtempSync(join(tmpdir(), 'custom-'));
const phoneXsd = join(dir, 'phone.xsd');
writeFileSync(
  phoneXsd,
  `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:example:phone" elementFormDefault="qualified">
     <xs:element name="phone"><xs:complexType><xs:sequence>
       <xs:element name="ringtone" type="xs:string"/>
     </xs:sequence></xs:complexType></xs:element>
   </xs:schema>`,
);
const phone = {
  auid: 'com.example.phone',
  namespace: 'urn:example:phone',
  mimeType: 'application/vnd.example.phone+xml',
  xsd: phoneXsd,
  scopes: { global: false, users: true },
  documentNames: ['settings'],
};

describe('RFC 4825 §12 xcap-caps', () => {
  it('lists every usage and namespace and is strictly valid against xcap-caps.xsd', async () => {
    const registry = await createRegistry({ custom: [phone] });
    const caps = registry.get('xcap-caps');
    const key = { auid: 'xcap-caps', xui: null, path: 'index' };
    const body = (await caps?.generated?.(key, context(store, key), { xui: ALICE, admin: false })) ?? '';
    loadSchema(schemaFile('xcap-caps/xcap-caps.xsd')).validate(body);
    const doc = parseDocument(body);
    const auids = Array.from(doc.getElementsByTagNameNS('urn:ietf:params:xml:ns:xcap-caps', 'auid')).map((a) => a.textContent);
    expect(auids).toEqual(registry.all().map((u) => u.auid));
    expect(auids).toEqual(expect.arrayContaining(['resource-lists', 'rls-services', 'pres-rules', 'com.example.phone']));
    const namespaces = Array.from(doc.getElementsByTagNameNS('urn:ietf:params:xml:ns:xcap-caps', 'namespace')).map(
      (n) => n.textContent,
    );
    expect(namespaces).toEqual(expect.arrayContaining(['urn:ietf:params:xml:ns:resource-lists', 'urn:example:phone', XCAP_ERROR_NS]));
    expect(caps?.mimeType).toBe('application/xcap-caps+xml');
    expect(caps?.authorize?.({ xui: ALICE, admin: true }, key, 'write')).toBe(false);
  });
});

describe('registry', () => {
  it('serves the standard usages by auid and refuses a repeated auid', async () => {
    const registry = await createRegistry({ presContentMaxBytes: 5000 });
    expect(registry.get('org.openmobilealliance.pres-content')?.maxDocumentBytes).toBe(5000);
    expect(registry.get('nope')).toBeUndefined();
    await expect(createRegistry({ custom: [{ ...phone, auid: 'resource-lists' }] })).rejects.toThrow(/resource-lists is declared twice/);
  });
});

describe('custom usages from config', () => {
  it('validates against the configured XSD and document names', async () => {
    const registry = await createRegistry({ custom: [phone] });
    const usage = registry.get('com.example.phone');
    if (usage === undefined) throw new Error('custom usage missing');
    const key = { auid: phone.auid, xui: ALICE, path: 'settings' };
    const good = '<phone xmlns="urn:example:phone"><ringtone>bell</ringtone></phone>';
    await expect(validate(usage, good, context(store, key))).resolves.toBeUndefined();
    expect(await rejection(validate(usage, '<phone xmlns="urn:example:phone"/>', context(store, key)))).toBeInstanceOf(
      SchemaValidationError,
    );
    const elsewhere = { ...key, path: 'other' };
    expect(await rejection(validate(usage, good, context(store, elsewhere)))).toBeInstanceOf(ConstraintFailure);
  });

  it('fails start-up with the auid and the key when the XSD does not load', async () => {
    const broken = join(dir, 'broken.xsd');
    writeFileSync(broken, '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element/></xs:schema>');
    await expect(createRegistry({ custom: [{ ...phone, xsd: broken }] })).rejects.toThrow(/com\.example\.phone: xsd: .*broken\.xsd/);
    await expect(createRegistry({ custom: [{ ...phone, xsd: join(dir, 'missing.xsd') }] })).rejects.toThrow(
      /com\.example\.phone: xsd: .*missing\.xsd cannot be read/,
    );
  });
});

describe('RFC 4825 §11 xcap-error schema', () => {
  const body = (detail: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-error xmlns="${XCAP_ERROR_NS}">${detail}</xcap-error>`;

  it('accepts what every conflict class renders', () => {
    for (const C of XCAP_CONFLICTS) {
      const err =
        C === NoParent
          ? new NoParent('http://xcap.example.com/xcap-root/resource-lists/users/sip:a@b/index', 'missing')
          : C === UniquenessFailure
            ? new UniquenessFailure([{ field: 'rls-services/service[1]/@uri', altValues: ['sip:a-1@b'] }], 'taken')
            : new (C as new (phrase?: string) => InstanceType<typeof C>)('a phrase with <markup> & "quotes"');
      expect(() => validateXcapErrorBody(body(err.detailXml()))).not.toThrow();
    }
  });

  it('rejects bodies that are not xcap-error documents', () => {
    expect(() => validateXcapErrorBody(body('<no-such-condition/>'))).toThrow(SchemaValidationError);
    expect(() => validateXcapErrorBody(body('<uniqueness-failure/>'))).toThrow(SchemaValidationError);
    expect(() => validateXcapErrorBody(body('<cannot-insert/><cannot-delete/>'))).toThrow(SchemaValidationError);
  });
});

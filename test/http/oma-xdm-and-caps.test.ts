/**
 * Generated and special usages over HTTP: xcap-caps (RFC 4825 §12, fetched first by clients,
 * valid against its schema), org.openmobilealliance.xcap-directory (the user's documents
 * with ETags equal to their GET ETags), org.openmobilealliance.pres-content (avatars:
 * valid PNG accepted, wrong magic bytes and oversize refused), and a custom usage declared
 * in config with an XSD written here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/appusage/schema.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest, type XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, children, contacts, EL_TYPE, enc, expectConflict, RL_TYPE, xml } from './helpers.ts';

const XCAP_CAPS_XSD = join(import.meta.dirname, '../../src/appusage/xcap-caps/xcap-caps.xsd');
const XCAP_DIRECTORY_XSD = join(import.meta.dirname, '../../src/appusage/xcap-directory/xcap-directory.xsd');
const PC_NS = 'urn:oma:xml:prs:pres-content';
const PC_TYPE = 'application/vnd.oma.pres-content+xml';
const CUSTOM_NS = 'urn:example:phone-config';

/** A 1×1 PNG (signature, IHDR, IDAT, IEND). */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

function avatar(data: Buffer, mime = 'image/png'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<content xmlns="${PC_NS}"><mime-type>${mime}</mime-type><encoding>base64</encoding><data>${data.toString('base64')}</data></content>
`;
}

const PHONE_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${CUSTOM_NS}" xmlns="${CUSTOM_NS}" elementFormDefault="qualified">
  <xs:element name="phone-config">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="setting" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:simpleContent>
              <xs:extension base="xs:string"><xs:attribute name="name" type="xs:NCName" use="required"/></xs:extension>
            </xs:simpleContent>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;

describe('xcap-caps, OMA xcap-directory, OMA pres-content and a custom usage over HTTP', () => {
  let gw: TestGateway;
  let c: XcapClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xcapb-custom-'));
    const xsd = join(dir, 'phone-config.xsd');
    writeFileSync(xsd, PHONE_XSD);
    gw = await startTestGateway({
      config: {
        usages: {
          presContentMaxBytes: 2048,
          custom: [
            { auid: 'com.example.phone-config', namespace: CUSTOM_NS, mimeType: 'application/vnd.example.phone-config+xml', xsd, scopes: { global: true, users: true } },
          ],
        },
      },
    });
    c = gw.client();
  });
  afterAll(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RFC 4825 §12 xcap-caps: fetched first (no credentials), valid against its schema, lists usages and namespaces', async () => {
    const r = await rawRequest('GET', `${gw.url}/xcap-caps/global/index`, {});
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/xcap-caps+xml');
    expect(r.headers.get('etag')).toMatch(/^"/);
    loadSchema(XCAP_CAPS_XSD).validate(r.body);
    const root = xml(r.body);
    const auids = Array.from(root.getElementsByTagName('auid')).map((a) => a.textContent);
    expect(auids).toEqual(
      expect.arrayContaining([
        'xcap-caps',
        'resource-lists',
        'rls-services',
        'pres-rules',
        'org.openmobilealliance.pres-rules',
        'pidf-manipulation',
        'org.openmobilealliance.xcap-directory',
        'org.openmobilealliance.pres-content',
        'com.example.phone-config',
      ]),
    );
    const namespaces = Array.from(root.getElementsByTagName('namespace')).map((a) => a.textContent);
    expect(namespaces).toEqual(expect.arrayContaining(['urn:ietf:params:xml:ns:resource-lists', 'urn:ietf:params:xml:ns:xcap-error', CUSTOM_NS]));
    // Selectors work on generated documents too.
    const one = await rawRequest('GET', `${gw.url}/xcap-caps/global/index/~~/xcap-caps/auids/auid%5B1%5D`, {});
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe(EL_TYPE);
    expect((await rawRequest('GET', `${gw.url}/xcap-caps/users/sip:alice@example.com/index`, {})).status).toBeGreaterThanOrEqual(400);
  });

  it('OMA xcap-directory lists the user\'s documents with ETags equal to their GET ETags', async () => {
    expect((await c.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
    expect((await c.put('/resource-lists/users/sip:alice@example.com/second', contacts(), RL_TYPE)).status).toBe(201);
    expect((await gw.client('bob', 'bob-secret').put('/resource-lists/users/sip:bob@example.com/index', contacts(), RL_TYPE)).status).toBe(201);
    const path = '/org.openmobilealliance.xcap-directory/users/sip:alice@example.com/directory.xml';
    const r = await c.get(path);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/vnd.oma.xcap-directory+xml');
    loadSchema(XCAP_DIRECTORY_XSD).validate(r.body);
    const entries = Array.from(xml(r.body).getElementsByTagName('entry'));
    expect(entries.length).toBeGreaterThanOrEqual(2);
    for (const e of entries) {
      const uri = e.getAttribute('uri') as string;
      expect(uri).not.toContain('bob');
      const doc = await c.get(decodeURI(uri).replace(/^\/xcap-root/, ''));
      expect(doc.status, uri).toBe(200);
      expect(doc.headers.get('etag')).toBe(`"${e.getAttribute('etag')}"`);
    }
    // A change shows up with the new ETag.
    const put = await c.put(`${ALICE_RL}/~~/${enc('resource-lists/list[1]/@name')}`, 'pals', ATT_TYPE);
    const again = Array.from(xml((await c.get(path)).body).getElementsByTagName('entry')).find((e) => (e.getAttribute('uri') as string).endsWith('/index'));
    expect(`"${again?.getAttribute('etag')}"`).toBe(put.headers.get('etag'));
    expect((await gw.client('bob', 'bob-secret').get(path)).status).toBe(403);
  });

  it('OMA pres-content: a valid PNG avatar is stored; wrong magic bytes and oversize are refused', async () => {
    const path = '/org.openmobilealliance.pres-content/users/sip:alice@example.com/oma_status-icon/rcs_status_icon';
    const ok = await c.put(path, avatar(PNG), PC_TYPE);
    expect(ok.status).toBe(201);
    const get = await c.get(path);
    expect(get.headers.get('content-type')).toBe(PC_TYPE);
    expect(Buffer.from(children(xml(get.body), 'data')[0]?.textContent ?? '', 'base64').equals(PNG)).toBe(true);
    const notPng = Buffer.from('GIF89a-not-really-a-png');
    expectConflict(await c.put(path, avatar(notPng), PC_TYPE), 'constraint-failure');
    expectConflict(await c.put(path, avatar(Buffer.from('plain text')), PC_TYPE), 'constraint-failure');
    const big = await c.put(path, avatar(Buffer.concat([PNG, Buffer.alloc(4096)])), PC_TYPE);
    expect(big.status).toBe(413);
    expect((await c.get(path)).body).toBe(get.body);
  });

  it('custom usage from config: validated by its XSD, served with its MIME type, selectors use its namespace', async () => {
    const path = '/com.example.phone-config/users/sip:alice@example.com/settings.xml';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<phone-config xmlns="${CUSTOM_NS}"><setting name="ringtone">bells</setting></phone-config>\n`;
    expect((await c.put(path, body, 'application/vnd.example.phone-config+xml')).status).toBe(201);
    const get = await c.get(path);
    expect(get.headers.get('content-type')).toBe('application/vnd.example.phone-config+xml');
    expect(get.body).toBe(body);
    const add = await c.put(`${path}/~~/${enc('phone-config/setting[@name="volume"]')}`, '<setting name="volume">7</setting>', EL_TYPE);
    expect(add.status).toBe(201);
    expect(xml((await c.get(`${path}/~~/${enc('phone-config/setting[2]')}`)).body).textContent).toBe('7');
    expectConflict(await c.put(`${path}/~~/${enc('phone-config/other')}`, '<other/>', EL_TYPE), 'schema-validation-error');
    expectConflict(await c.put(`${path}/~~/${enc('phone-config/setting[1]/@name')}`, 'not a name', ATT_TYPE), 'schema-validation-error');
    expect((await c.put(path, body, RL_TYPE)).status).toBe(415);
    // Global scope is declared too: admins write, users read.
    expect((await gw.client('admin', 'admin-secret').put('/com.example.phone-config/global/defaults', body, 'application/vnd.example.phone-config+xml')).status).toBe(201);
    expect((await c.get('/com.example.phone-config/global/defaults')).body).toBe(body);
  });
});

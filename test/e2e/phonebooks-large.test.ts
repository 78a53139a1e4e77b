/**
 * Issue 15 item 4: a 100,000-entry directory over HTTP. Browsed formats answer any page
 * (the last Cisco page included) with their per-page limits; a whole-file format is sent
 * in chunks as it is written (chunked transfer coding, no Content-Length: never built
 * whole first) and holds every entry. The directory is stored as a sync run stores it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest } from '../helpers/digest-client.ts';
import { RL_NS } from '../http/helpers.ts';
import { FIELDS_NS } from '../../src/appusage/resource-lists/items.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { createRegistry } from '../../src/appusage/registry.ts';
import { DeviceTokens } from '../../src/phonebook/tokens.ts';
import { kids, rowsOf, strictRoot } from '../phonebook/vendor-structure.ts';

const N = 100_000;

function directory(): string {
  const out: string[] = [];
  for (let i = 0; i < N; i++) out.push(`<entry uri="sip:p${i}@example.com"><display-name>Person ${i}</display-name><xbf:field name="telephoneNumber">+4930${1_000_000 + i}</xbf:field></entry>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}" xmlns:xbf="${FIELDS_NS}"><list name="directory">${out.join('')}</list></resource-lists>\n`;
}

describe('issue 15: a 100,000-entry directory', () => {
  let t: TestGateway;
  let token: string;
  const url = (format: string, query = '') => `${t.origin}/phonebook/${format}/global/directory/directory?token=${token}${query}`;

  beforeAll(async () => {
    t = await startTestGateway();
    // Through the validating writer, as the sync engine writes a pulled directory.
    const writer = new DocumentWriter({ store: t.gateway.store, usages: await createRegistry() });
    await writer.write({ key: { auid: 'resource-lists', xui: null, path: 'directory' }, body: directory(), expect: 'absent', origin: 'test' });
    token = (await (await DeviceTokens.open(t.gateway.store.sql)).add(ADMIN.xui, 'large')).token;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('cisco: 3,125 pages of 32; the last one answers', async () => {
    const first = await rawRequest('GET', url('cisco'), {});
    expect(first.status).toBe(200);
    const prompt = kids(strictRoot(first.body), 'Prompt')[0]?.textContent;
    expect(prompt).toBe(`Page 1 of ${N / 32}`);
    const last = await rawRequest('GET', url('cisco', `&page=${N / 32}`), {});
    expect(last.status).toBe(200);
    const rows = rowsOf('cisco', last.body);
    expect(rows).toHaveLength(32);
    expect(rows.at(-1)).toEqual({ name: `Person ${N - 1}`, numbers: [`+4930${1_000_000 + N - 1}`] });
    expect(last.headers.get('refresh')).toBeNull();
    expect((await rawRequest('GET', url('cisco', `&page=${N / 32 + 1}`), {})).status).toBe(404);
  });

  it('yealink: a middle page within the object limit', async () => {
    const res = await rawRequest('GET', url('yealink', '&page=500'), {});
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.body)).toBeLessThanOrEqual(10_000);
    expect(rowsOf('yealink', res.body).length).toBeGreaterThan(50);
  });

  it('grandstream: the whole file, sent in chunks as written, every entry in it', async () => {
    const res = await rawRequest('GET', url('grandstream'), {});
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('x-phonebook-contacts')).toBe(String(N));
    expect((res.body.match(/<Contact>/g) ?? []).length).toBe(N);
    expect(res.body.endsWith('</AddressBook>\n')).toBe(true);
  });
});

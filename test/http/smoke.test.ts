import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceLists } from '../../bench/fixtures.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe.each(['sqlite', 'postgres'] as const)('%s: RFC 4825 §7 document round trip over HTTP', (store) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ store });
  });
  afterAll(() => gw.stop());

  it('creates, reads, edits by selector and deletes a buddy list with Digest', async () => {
    const c = gw.client();
    const doc = '/resource-lists/users/sip:alice@example.com/index';
    const put = await c.put(doc, resourceLists(3), 'application/resource-lists+xml');
    expect(put.status).toBe(201);
    const etag = put.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const get = await c.get(doc);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/resource-lists+xml');
    expect(get.headers.get('etag')).toBe(etag);
    expect(get.body).toContain('sip:user2@example.com');

    const sel = '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:carol@example.com%22%5D';
    const add = await c.put(doc + sel, '<entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>', 'application/xcap-el+xml');
    expect(add.status).toBe(201);
    expect(add.headers.get('etag')).not.toBe(etag);
    const one = await c.get(doc + sel);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/xcap-el+xml');
    expect(one.body).toContain('Carol');
    const del = await c.delete(doc + sel);
    expect(del.status).toBe(200);
    expect((await c.get(doc + sel)).status).toBe(404);
    expect((await c.get(doc)).body).not.toContain('carol');
  });
});

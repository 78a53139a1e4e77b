/**
 * RFC 4825 §7.11 (conditional operations) and §8.5 (ETags) through HTTP: strong ETags that
 * change on every modification and equal the GET's, If-Match / If-None-Match with tags,
 * lists and `*` (bare and quoted), 412 and 304.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, contacts, EL_TYPE, enc, RL_TYPE } from './helpers.ts';

describe.each(['sqlite', 'postgres'] as const)('%s: RFC 4825 §7.11 conditional operations and §8.5 ETags', (store) => {
  let gw: TestGateway;
  let c: XcapClient;
  let etag: string;
  beforeAll(async () => {
    gw = await startTestGateway({ store });
    c = gw.client();
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    await c.delete(ALICE_RL);
    const r = await c.put(ALICE_RL, contacts(), RL_TYPE);
    expect(r.status).toBe(201);
    etag = r.headers.get('etag') as string;
  });

  const sel = (s: string) => `${ALICE_RL}/~~/${enc(s)}`;
  const entry = sel('resource-lists/list[@name="friends"]/entry[@uri="sip:zoe@example.com"]');

  it('ETags are strong, quoted, equal to the GET ETag, and change on every modification', async () => {
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(etag.startsWith('W/')).toBe(false);
    const seen = new Set([etag]);
    const steps: Array<() => Promise<{ status: number; headers: Headers }>> = [
      () => c.put(entry, '<entry uri="sip:zoe@example.com"/>', EL_TYPE),
      () => c.put(sel('resource-lists/list[@name="friends"]/entry[@uri="sip:zoe@example.com"]/display-name'), '<display-name>Zoe</display-name>', EL_TYPE),
      () => c.put(sel('resource-lists/list[1]/entry[1]/display-name/@xml:lang'), 'en', ATT_TYPE),
      () => c.delete(sel('resource-lists/list[1]/entry[1]/display-name/@xml:lang')),
      () => c.delete(entry),
      () => c.put(ALICE_RL, contacts().replace('Bob', 'Robert'), RL_TYPE),
    ];
    for (const step of steps) {
      const r = await step();
      expect(r.status).toBeLessThan(300);
      const tag = r.headers.get('etag') as string;
      expect(seen.has(tag), `ETag ${tag} repeated`).toBe(false);
      seen.add(tag);
      const get = await c.get(ALICE_RL);
      expect(get.headers.get('etag')).toBe(tag);
      // Node GETs carry the document's ETag too.
      expect((await c.get(sel('resource-lists/list[1]'))).headers.get('etag')).toBe(tag);
    }
  });

  it('If-Match with the current ETag succeeds; a stale one gets 412 and changes nothing', async () => {
    const ok = await c.put(entry, '<entry uri="sip:zoe@example.com"/>', EL_TYPE, { 'If-Match': etag });
    expect(ok.status).toBe(201);
    const now = ok.headers.get('etag') as string;
    for (const r of [
      await c.put(ALICE_RL, contacts(), RL_TYPE, { 'If-Match': etag }),
      await c.put(sel('resource-lists/list[1]/@name'), 'x', ATT_TYPE, { 'If-Match': etag }),
      await c.delete(entry, { 'If-Match': etag }),
      await c.delete(ALICE_RL, { 'If-Match': etag }),
    ]) {
      expect(r.status).toBe(412);
    }
    const get = await c.get(ALICE_RL);
    expect(get.headers.get('etag')).toBe(now);
    expect(get.body).toContain('sip:zoe@example.com');
    // A list containing the current tag matches; a weak tag never does (strong comparison).
    expect((await c.delete(entry, { 'If-Match': `"nope", ${now}` })).status).toBe(200);
    const cur = (await c.get(ALICE_RL)).headers.get('etag') as string;
    expect((await c.put(ALICE_RL, contacts(), RL_TYPE, { 'If-Match': `W/${cur}` })).status).toBe(412);
  });

  it('If-Match: * needs an existing document; If-None-Match: * (bare or quoted) needs a missing one', async () => {
    const other = '/resource-lists/users/sip:alice@example.com/other';
    expect((await c.put(other, contacts(), RL_TYPE, { 'If-Match': '*' })).status).toBe(412);
    expect((await c.get(other)).status).toBe(404);
    expect((await c.put(other, contacts(), RL_TYPE, { 'If-None-Match': '*' })).status).toBe(201);
    expect((await c.put(other, contacts(), RL_TYPE, { 'If-None-Match': '*' })).status).toBe(412);
    expect((await c.put(other, contacts(), RL_TYPE, { 'If-None-Match': '"*"' })).status).toBe(412);
    expect((await c.put(other, contacts().replace('Bob', 'B2'), RL_TYPE, { 'If-Match': '*' })).status).toBe(200);
    expect((await c.get(other)).body).toContain('B2');
    expect((await c.delete(other, { 'If-None-Match': '*' })).status).toBe(412);
    expect((await c.delete(other, { 'If-Match': '"*"' })).status).toBe(200);
    expect((await c.get(other)).status).toBe(404);
  });

  it('If-None-Match with the current ETag: 304 on GET (with the ETag), 412 on PUT', async () => {
    const get = await c.get(ALICE_RL, { 'If-None-Match': etag });
    expect(get.status).toBe(304);
    expect(get.body).toBe('');
    expect(get.headers.get('etag')).toBe(etag);
    const node = await c.get(sel('resource-lists/list[1]'), { 'If-None-Match': etag });
    expect(node.status).toBe(304);
    expect((await c.get(ALICE_RL, { 'If-None-Match': '*' })).status).toBe(304);
    expect((await c.get(ALICE_RL, { 'If-None-Match': '"other"' })).status).toBe(200);
    expect((await c.put(ALICE_RL, contacts(), RL_TYPE, { 'If-None-Match': etag })).status).toBe(412);
    expect((await c.get(ALICE_RL)).headers.get('etag')).toBe(etag);
  });

  it('GET with a stale If-Match gets 412', async () => {
    expect((await c.get(ALICE_RL, { 'If-Match': '"stale"' })).status).toBe(412);
    expect((await c.get(ALICE_RL, { 'If-Match': etag })).status).toBe(200);
  });

  it('a client that re-PUTs the document it fetched with If-Match wins exactly once', async () => {
    const a = gw.client();
    const b = gw.client();
    const [ra, rb] = await Promise.all([
      a.put(ALICE_RL, contacts().replace('Bob', 'A'), RL_TYPE, { 'If-Match': etag }),
      b.put(ALICE_RL, contacts().replace('Bob', 'B'), RL_TYPE, { 'If-Match': etag }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 412]);
    const winner = ra.status === 200 ? ra : rb;
    const get = await c.get(ALICE_RL);
    expect(get.headers.get('etag')).toBe(winner.headers.get('etag'));
    expect(get.body).toContain(ra.status === 200 ? '>A<' : '>B<');
  });
});

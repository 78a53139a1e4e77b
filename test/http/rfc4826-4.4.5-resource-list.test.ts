/**
 * RFC 4826 §4.4.5 through HTTP: the `<resource-list>` of an rls-services service is an
 * absolute HTTP URI of a `<list>` in the resource-lists usage below this server's XCAP
 * root, in the home directory of the user owning the rls-services document (any user's
 * for a document in the global tree). "This server's root" is each `server.publicRoots`
 * entry and `http://<Host of the request><server.root>`; anything else is a 409
 * constraint-failure and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { expectConflict, RLS_TYPE, services } from './helpers.ts';

const PUBLIC_ROOT = 'https://xcap.example.com/xcap';
const ALICE_DOC = '/rls-services/users/sip:alice@example.com/buddies';
const FRIENDS = 'index/~~/resource-lists/list%5B@name=%22friends%22%5D';

describe('RFC 4826 §4.4.5 <resource-list> names a list of the same user on this server', () => {
  let gw: TestGateway;
  let alice: XcapClient;
  let admin: XcapClient;
  /** `http://127.0.0.1:PORT/xcap-root`, as the test client's Host header names it. */
  let served: string;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { server: { publicRoots: [PUBLIC_ROOT] } } });
    alice = gw.client();
    admin = gw.client('admin', 'admin-secret');
    served = gw.url;
  });
  afterAll(() => gw.stop());

  const doc = (ref: string) => services(['sip:alice-ref@example.com', `<resource-list>${ref}</resource-list>`]);

  /** PUT is refused with constraint-failure and the document does not exist afterwards. */
  async function refused(client: XcapClient, path: string, ref: string, headers: Record<string, string> = {}): Promise<void> {
    const r = await client.put(path, doc(ref), RLS_TYPE, headers);
    const cond = expectConflict(r, 'constraint-failure');
    expect(cond.getAttribute('phrase')).toContain('resource-list');
    expect((await client.get(path)).status).toBe(404);
  }

  /** PUT creates the document and GET returns it as sent; then it is deleted for the next case. */
  async function accepted(client: XcapClient, path: string, ref: string, headers: Record<string, string> = {}): Promise<void> {
    const body = doc(ref);
    const r = await client.put(path, body, RLS_TYPE, headers);
    expect(r.status, r.body).toBe(201);
    const get = await client.get(path);
    expect(get.body).toBe(body);
    expect(get.headers.get('etag')).toBe(r.headers.get('etag'));
    expect((await client.delete(path)).status).toBe(200);
  }

  it('accepts a list of the owner below the root as the request reached it, any case of scheme and host', async () => {
    await accepted(alice, ALICE_DOC, `${served}/resource-lists/users/sip:alice@example.com/${FRIENDS}`);
    const upper = served.replace('http://', 'HTTP://');
    await accepted(alice, ALICE_DOC, `${upper}/resource-lists/users/sip:alice@example.com/${FRIENDS}`);
    // A nested list, the selector encoded otherwise (the schema's anyURI refuses a raw `"`).
    await accepted(alice, ALICE_DOC, `${served}/resource-lists/users/sip%3Aalice%40example.com/index/%7E%7E/resource-lists/list%5B1%5D/list%5B@name='close'%5D`);
  });

  it('accepts the root with a realm suffix and the XUI without its domain (eyeBeam style)', async () => {
    await accepted(alice, ALICE_DOC, `${served}@example.com/resource-lists/users/alice/${FRIENDS}`);
  });

  it('accepts a configured public root (server.publicRoots), with or without the default port', async () => {
    await accepted(alice, ALICE_DOC, `${PUBLIC_ROOT}/resource-lists/users/sip:alice@example.com/${FRIENDS}`);
    await accepted(alice, ALICE_DOC, `https://XCAP.example.com:443/xcap/resource-lists/users/sip:alice@example.com/${FRIENDS}`);
  });

  it('the Host of the request is what names this server: a root under that host is accepted only from such a request', async () => {
    const viaName = `http://phones.example.net/xcap-root/resource-lists/users/sip:alice@example.com/${FRIENDS}`;
    await accepted(alice, ALICE_DOC, viaName, { Host: 'phones.example.net' });
    await refused(alice, ALICE_DOC, viaName);
  });

  it('refuses a list of another user', async () => {
    await refused(alice, ALICE_DOC, `${served}/resource-lists/users/sip:bob@example.com/${FRIENDS}`);
    await refused(alice, ALICE_DOC, `${PUBLIC_ROOT}/resource-lists/users/sip:bob@example.com/${FRIENDS}`);
    // The same user part in another domain is another user.
    await refused(alice, ALICE_DOC, `${served}/resource-lists/users/sip:alice@example.org/${FRIENDS}`);
  });

  it('refuses another host, scheme, port or root', async () => {
    const path = `/resource-lists/users/sip:alice@example.com/${FRIENDS}`;
    const u = new URL(served);
    for (const root of [
      `http://elsewhere.example/xcap-root`,
      `https://${u.host}/xcap-root`,
      `http://${u.hostname}:${Number(u.port) + 1}/xcap-root`,
      `http://${u.host}/xcap-other`,
      `http://${u.host}/xcap-root-2`,
      `http://xcap.example.com/xcap`,
      `https://xcap.example.com/xcap-root`,
      `http://someone@${u.host}/xcap-root`,
    ]) {
      await refused(alice, ALICE_DOC, root + path);
    }
    await refused(alice, ALICE_DOC, `resource-lists/users/sip:alice@example.com/${FRIENDS}`);
    await refused(alice, ALICE_DOC, `/xcap-root/resource-lists/users/sip:alice@example.com/${FRIENDS}`);
  });

  it('refuses what is not a <list> of a resource-lists document', async () => {
    const user = `${served}/resource-lists/users/sip:alice@example.com`;
    await refused(alice, ALICE_DOC, `${served}/pres-rules/users/sip:alice@example.com/${FRIENDS}`);
    await refused(alice, ALICE_DOC, `${user}/index`);
    await refused(alice, ALICE_DOC, `${user}/index/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B1%5D`);
    await refused(alice, ALICE_DOC, `${user}/index/~~/resource-lists/list%5B@name=%22friends%22%5D/@name`);
    await refused(alice, ALICE_DOC, `${user}/index/~~/resource-lists/list%5B@name=%22friends%22%5D#frag`);
  });

  it('a global rls-services document may name a list of any user, not one in the global tree', async () => {
    await accepted(admin, '/rls-services/global/shared', `${served}/resource-lists/users/sip:bob@example.com/${FRIENDS}`);
    await refused(admin, '/rls-services/global/shared', `${served}/resource-lists/global/${FRIENDS}`);
  });

  it('an element PUT of a <resource-list> is checked the same way, and a refused one leaves the document as it was', async () => {
    const good = `${served}/resource-lists/users/sip:alice@example.com/${FRIENDS}`;
    const body = doc(good);
    expect((await alice.put(ALICE_DOC, body, RLS_TYPE)).status).toBe(201);
    const sel = `${ALICE_DOC}/~~/rls-services/service%5B@uri=%22sip:alice-ref@example.com%22%5D/resource-list`;
    const bad = `${served}/resource-lists/users/sip:bob@example.com/${FRIENDS}`;
    const r = await alice.put(sel, `<resource-list>${bad}</resource-list>`, 'application/xcap-el+xml');
    expectConflict(r, 'constraint-failure');
    expect((await alice.get(ALICE_DOC)).body).toBe(body);
  });
});

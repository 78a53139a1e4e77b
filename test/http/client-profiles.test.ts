/**
 * Client profiles through HTTP (docs/clients.md). The built-in `xcaplib` profile, chosen by
 * User-Agent `python-xcaplib/...`, accepts a whole-document PUT with no Content-Type or
 * urllib's default `application/x-www-form-urlencoded` when the root element is in the
 * usage's namespace (flag `untyped-document`); every other case, and every other client,
 * keeps RFC 4825 §8.2.1's 415. A configured profile adds the flag for other clients, and
 * one with a built-in's name replaces it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { ClientResponse, XcapClient } from '../helpers/digest-client.ts';
import { ERROR_NS } from '../../src/http/error-handler.ts';
import { ALICE_RL, contacts, CP_NS, enc, xml } from './helpers.ts';

const XCAPLIB = 'python-xcaplib/1.2';
const FORM = 'application/x-www-form-urlencoded';

/** PUT of `body` with exactly these headers (no Content-Type unless given). */
function put(c: XcapClient, path: string, body: string, headers: Record<string, string>): Promise<ClientResponse> {
  return c.request('PUT', path, { body, headers });
}

/** A 415 with the small XML error body naming the expected type. */
function expect415(r: ClientResponse, expected: string): void {
  expect(r.status, r.body).toBe(415);
  expect(r.headers.get('content-type')).toBe('application/xml');
  const el = xml(r.body);
  expect(el.namespaceURI).toBe(ERROR_NS);
  expect(el.getAttribute('status')).toBe('415');
  expect(el.getAttribute('phrase')).toContain(expected);
}

describe('built-in client profile xcaplib (untyped-document)', () => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway();
    c = gw.client();
  });
  afterAll(() => gw.stop());

  it('a document PUT with urllib\'s form Content-Type or none is stored as the usage\'s type and read back', async () => {
    const variants: Array<Record<string, string>> = [{ 'User-Agent': XCAPLIB, 'Content-Type': FORM }, { 'User-Agent': XCAPLIB }];
    for (const headers of variants) {
      await c.delete(ALICE_RL);
      const r = await put(c, ALICE_RL, contacts(), headers);
      expect(r.status, r.body).toBe(201);
      const get = await c.get(ALICE_RL);
      expect(get.body).toBe(contacts());
      expect(get.headers.get('content-type')).toBe('application/resource-lists+xml');
      expect(get.headers.get('etag')).toBe(r.headers.get('etag'));
    }
    // Replacing it the same way answers 200.
    const again = await put(c, ALICE_RL, contacts().replace('Bob', 'Robert'), { 'User-Agent': XCAPLIB, 'Content-Type': FORM });
    expect(again.status).toBe(200);
    expect((await c.get(ALICE_RL)).body).toContain('Robert');
  });

  it('keeps 415 when the root is in another namespace, the body is not XML, the type is another, or the PUT is not of a document', async () => {
    await c.delete(ALICE_RL);
    const ruleset = `<ruleset xmlns="${CP_NS}"/>`;
    expect415(await put(c, ALICE_RL, ruleset, { 'User-Agent': XCAPLIB, 'Content-Type': FORM }), 'application/resource-lists+xml');
    expect415(await put(c, ALICE_RL, 'a=1&b=2', { 'User-Agent': XCAPLIB, 'Content-Type': FORM }), 'application/resource-lists+xml');
    expect415(await put(c, ALICE_RL, contacts(), { 'User-Agent': XCAPLIB, 'Content-Type': 'text/plain' }), 'application/resource-lists+xml');
    expect((await c.get(ALICE_RL)).status).toBe(404);
    expect((await c.put(ALICE_RL, contacts(), 'application/resource-lists+xml')).status).toBe(201);
    const entry = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:dan@example.com"]')}`;
    expect415(await put(c, entry, '<entry uri="sip:dan@example.com"/>', { 'User-Agent': XCAPLIB, 'Content-Type': FORM }), 'application/xcap-el+xml');
    expect((await c.get(entry)).status).toBe(404);
  });

  it('other clients get the RFC 4825 §8.2.1 415 for the same request, and nothing is stored', async () => {
    await c.delete(ALICE_RL);
    for (const ua of [undefined, 'Jitsi/2.10', 'python-xcaplib', 'curl/8.0 python-xcaplib/1.2']) {
      const headers: Record<string, string> = { 'Content-Type': FORM };
      if (ua) headers['User-Agent'] = ua;
      expect415(await put(c, ALICE_RL, contacts(), headers), 'application/resource-lists+xml');
      expect((await c.get(ALICE_RL)).status).toBe(404);
    }
  });
});

describe('configured client profiles', () => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        clients: {
          // Replaces the built-in profile of that name: strict again.
          xcaplib: { userAgent: '^python-xcaplib/', lenient: [] },
          tool: { userAgent: '^my-provisioning-tool/', lenient: ['untyped-document'] },
        },
      },
    });
    c = gw.client();
  });
  afterAll(() => gw.stop());

  it('a profile named like a built-in replaces it; a new one grants its flags to its client', async () => {
    expect415(await put(c, ALICE_RL, contacts(), { 'User-Agent': XCAPLIB, 'Content-Type': FORM }), 'application/resource-lists+xml');
    expect((await c.get(ALICE_RL)).status).toBe(404);
    const r = await put(c, ALICE_RL, contacts(), { 'User-Agent': 'my-provisioning-tool/3' });
    expect(r.status, r.body).toBe(201);
    expect((await c.get(ALICE_RL)).body).toBe(contacts());
  });
});

/**
 * RFC 4825 §8 answers other than 409 carry a body clients can parse as XML (XCAP clients
 * such as python3-xcaplib parse every error body): `application/xml`,
 * `<error xmlns="urn:x-xcap-bridge:error" status="N" phrase="..."/>`, for 400, 401, 403,
 * 404, 405, 412, 413 and 415. 409 keeps its xcap-error body (rfc4825-11-errors.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_NS } from '../../src/http/error-handler.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest, type ClientResponse, type XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, contacts, enc, RL_TYPE, xml } from './helpers.ts';

/** The XML error body of a non-409 answer; returns its phrase. */
function expectXmlError(r: ClientResponse, status: number): string {
  expect(r.status, r.body).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/xml');
  const el = xml(r.body);
  expect(el.namespaceURI).toBe(ERROR_NS);
  expect(el.localName).toBe('error');
  expect(el.getAttribute('status')).toBe(String(status));
  const phrase = el.getAttribute('phrase') ?? '';
  expect(phrase).not.toBe('');
  return phrase;
}

describe('RFC 4825 §8 error answers other than 409 have an XML body', () => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { server: { maxBodyBytes: 4096 } } });
    c = gw.client();
    expect((await c.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
    expect((await c.get(ALICE_RL)).body).toBe(contacts());
  });
  afterAll(() => gw.stop());

  it('400 for a malformed node selector', async () => {
    expectXmlError(await c.get(`${ALICE_RL}/~~/${enc('resource-lists/list[@name="x"')}`), 400);
  });

  it('401 without credentials (with the challenge), 403 for another user\'s document', async () => {
    const r = await rawRequest('GET', gw.url + ALICE_RL, {});
    expectXmlError(r, 401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Digest /);
    expectXmlError(await c.get('/resource-lists/users/sip:bob@example.com/index'), 403);
  });

  it('404 for a missing document and for a selector that selects nothing', async () => {
    expectXmlError(await c.get('/resource-lists/users/sip:alice@example.com/missing'), 404);
    expectXmlError(await c.get(`${ALICE_RL}/~~/${enc('resource-lists/list[@name="none"]')}`), 404);
  });

  it('405 (with Allow) for a PUT of a generated document and of namespace bindings', async () => {
    const admin = gw.client('admin', 'admin-secret');
    const r = await admin.put('/xcap-caps/global/index', '<xcap-caps/>', 'application/xcap-caps+xml');
    expectXmlError(r, 405);
    expect(r.headers.get('allow')).toBe('GET');
    expectXmlError(await c.put(`${ALICE_RL}/~~/resource-lists/namespace::*`, 'x', 'application/xcap-ns+xml'), 405);
  });

  it('412 for a failed If-Match, with the document unchanged', async () => {
    expectXmlError(await c.put(ALICE_RL, contacts().replace('Bob', 'B'), RL_TYPE, { 'If-Match': '"stale"' }), 412);
    expect((await c.get(ALICE_RL)).body).toBe(contacts());
  });

  it('413 for a body over server.maxBodyBytes, 415 for a wrong Content-Type; nothing changes', async () => {
    const big = contacts().replace('<list name="work">', `<list name="big">${'<entry uri="sip:x@example.com"/>'.repeat(200)}</list><list name="work">`);
    expect(expectXmlError(await c.put(ALICE_RL, big, RL_TYPE), 413)).toContain('4096');
    expect(expectXmlError(await c.put(ALICE_RL, contacts(), 'text/xml'), 415)).toContain(RL_TYPE);
    expect((await c.get(ALICE_RL)).body).toBe(contacts());
  });
});

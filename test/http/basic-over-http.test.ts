/**
 * RFC 7617 §4 (Basic sends the password readable) applied: Basic is refused on plain HTTP
 * unless `auth.allowBasicOverHttp` is set. Refused means a 401 whose challenge offers Digest
 * only, and a client that sent Basic anyway is told why (XCAP error body, admin JSON); Digest
 * keeps working. On the HTTPS listener (`server.tls`) Basic is accepted with the flag off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicHeader, parseChallenges, rawRequest } from '../helpers/digest-client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { makeTestCa, type TestCa } from '../helpers/tls-certs.ts';
import { readFileSync } from 'node:fs';
import { ALICE_RL, contacts, RL_TYPE } from './helpers.ts';

const ALICE = basicHeader({ username: 'alice', password: 'alice-secret' });
const ADMIN = basicHeader({ username: 'admin', password: 'admin-secret' });
const REFUSED = 'Basic credentials are refused over plain HTTP: use Digest, or HTTPS';
const offersBasic = (h: Headers) => /(^|,\s*)Basic realm=/.test(h.get('www-authenticate') ?? '');

describe('plain HTTP, auth.allowBasicOverHttp off (the default)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { auth: { allowBasicOverHttp: false } } });
  });
  afterAll(() => gw?.stop());

  it('the challenge offers Digest only', async () => {
    const r = await rawRequest('GET', gw.url + ALICE_RL, {});
    expect(r.status).toBe(401);
    expect(parseChallenges(r.headers).map((c) => c.algorithm)).toEqual(['MD5', 'SHA-256', 'SHA-512-256']);
    expect(offersBasic(r.headers)).toBe(false);
  });

  it('correct Basic credentials get 401 saying why, with the Digest challenge; nothing is written', async () => {
    const put = await rawRequest('PUT', gw.url + ALICE_RL, { Authorization: ALICE, 'Content-Type': RL_TYPE }, contacts());
    expect(put.status).toBe(401);
    expect(put.body).toContain(`phrase="${REFUSED}"`);
    expect(offersBasic(put.headers)).toBe(false);
    expect(parseChallenges(put.headers)).toHaveLength(3);
    const digest = gw.client('alice', 'alice-secret');
    expect((await digest.get(ALICE_RL)).status).toBe(404);
  });

  it('Digest works: PUT then GET', async () => {
    const digest = gw.client('alice', 'alice-secret');
    expect((await digest.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
    expect((await digest.get(ALICE_RL)).body).toBe(contacts());
  });

  it('the admin API answers Basic with the reason in its JSON error', async () => {
    const r = await rawRequest('GET', `${gw.origin}/admin/users`, { Authorization: ADMIN });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toEqual({ error: REFUSED });
    expect(offersBasic(r.headers)).toBe(false);
  });

  it('with auth.allowBasic false as well, Basic gets the plain 401 (Basic is not a scheme of this server)', async () => {
    const off = await startTestGateway({ config: { auth: { allowBasic: false, allowBasicOverHttp: false } } });
    try {
      const r = await rawRequest('GET', off.url + ALICE_RL, { Authorization: ALICE });
      expect(r.status).toBe(401);
      expect(r.body).toContain('phrase="authentication required"');
    } finally {
      await off.stop();
    }
  });
});

describe('plain HTTP, auth.allowBasicOverHttp: true', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { auth: { allowBasicOverHttp: true } } });
  });
  afterAll(() => gw?.stop());

  it('offers and accepts Basic', async () => {
    const challenge = await rawRequest('GET', gw.url + ALICE_RL, {});
    expect(offersBasic(challenge.headers)).toBe(true);
    expect((await rawRequest('PUT', gw.url + ALICE_RL, { Authorization: ALICE, 'Content-Type': RL_TYPE }, contacts())).status).toBe(201);
    expect((await rawRequest('GET', gw.url + ALICE_RL, { Authorization: ALICE })).body).toBe(contacts());
  });
});

describe('HTTPS (server.tls), auth.allowBasicOverHttp off', () => {
  let ca: TestCa;
  let gw: TestGateway;
  let tls: { ca: Buffer };
  beforeAll(async () => {
    ca = await makeTestCa();
    const cert = await ca.issue('server', '2001');
    tls = { ca: readFileSync(ca.caFile) };
    gw = await startTestGateway({ config: { server: { tls: { certFile: cert.certFile, keyFile: cert.keyFile } }, auth: { allowBasicOverHttp: false } } });
  });
  afterAll(async () => {
    await gw?.stop();
    ca?.remove();
  });

  it('offers and accepts Basic: PUT then GET, and the admin API', async () => {
    expect(gw.url).toMatch(/^https:/);
    const challenge = await rawRequest('GET', gw.url + ALICE_RL, {}, undefined, tls);
    expect(offersBasic(challenge.headers)).toBe(true);
    expect((await rawRequest('PUT', gw.url + ALICE_RL, { Authorization: ALICE, 'Content-Type': RL_TYPE }, contacts(), tls)).status).toBe(201);
    expect((await rawRequest('GET', gw.url + ALICE_RL, { Authorization: ALICE }, undefined, tls)).body).toBe(contacts());
    expect((await rawRequest('GET', `${gw.origin}/admin/users`, { Authorization: ADMIN }, undefined, tls)).status).toBe(200);
  });
});

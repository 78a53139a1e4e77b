/**
 * Issue item 9: Python's standard library as the client (test/http/clients/xcap_urllib.py):
 * urllib.request + HTTPDigestAuthHandler for GET/PUT/DELETE of a document, an element and
 * an attribute with raw selectors (xcaplib style), then http.client re-using one Digest
 * nonce with increasing nc, and a replayed nc refused. Against a real `serve` process.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateXcapErrorBody } from '../../src/appusage/xcap-error/index.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { xml } from './helpers.ts';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, 'clients/xcap_urllib.py');

interface Step {
  step: string;
  status: number;
  etag: string | null;
  type: string | null;
  body: string;
}

describe.each(['login alice', 'login alice@example.com'] as const)('Python urllib + HTTPDigestAuthHandler against serve (%s)', (variant) => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  let steps: Map<string, Step>;
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    server = await startServe(store);
    const login = variant === 'login alice@example.com' ? 'alice@example.com' : 'alice';
    const { stdout } = await run('python3', [SCRIPT, server.url, login, 'alice-secret']);
    steps = new Map(stdout.trim().split('\n').map((l) => JSON.parse(l) as Step).map((s) => [s.step, s]));
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
  });
  const at = (name: string): Step => {
    const s = steps.get(name);
    if (s === undefined) throw new Error(`the script printed no step ${name}`);
    return s;
  };

  it('document: PUT 201, GET returns it with the same ETag and its MIME type', () => {
    expect(at('put-doc').status).toBe(201);
    const get = at('get-doc');
    expect(get.status).toBe(200);
    expect(get.type).toBe('application/resource-lists+xml');
    expect(get.etag).toBe(at('put-doc').etag);
    expect(get.body).toContain('sip:bob@example.com');
  });

  it('element with a raw selector: PUT 201, GET reads it back, the list shows it after bob', () => {
    expect(at('put-el').status).toBe(201);
    expect(at('get-el').status).toBe(200);
    expect(at('get-el').type).toBe('application/xcap-el+xml');
    expect(xml(at('get-el').body).getAttribute('uri')).toBe('sip:dan@example.com');
    const uris = Array.from(xml(at('get-list').body).getElementsByTagName('entry')).map((e) => e.getAttribute('uri'));
    expect(uris).toEqual(['sip:bob@example.com', 'sip:dan@example.com']);
    expect(at('get-el').etag).toBe(at('put-el').etag);
  });

  it('attribute: PUT 201, GET returns the value, DELETE then 404', () => {
    expect(at('put-att').status).toBe(201);
    expect(at('get-att')).toMatchObject({ status: 200, type: 'application/xcap-att+xml', body: 'fr' });
    expect(at('del-att').status).toBe(200);
    expect(at('get-att-gone').status).toBe(404);
  });

  it('element DELETE, then 404; ETags change on every write', () => {
    expect(at('del-el').status).toBe(200);
    expect(at('get-el-gone').status).toBe(404);
    const tags = ['put-doc', 'put-el', 'put-att', 'del-att', 'del-el'].map((s) => at(s).etag);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('a 409 reaches urllib with a valid xcap-error body', () => {
    const c = at('conflict');
    expect(c.status).toBe(409);
    expect(c.type).toBe('application/xcap-error+xml');
    validateXcapErrorBody(c.body);
    expect(c.body).toContain('cannot-insert');
  });

  it('http.client re-using one nonce with nc 1..4 (qop=auth) works; replaying nc 1 gets 401 stale', () => {
    expect(at('nonce-challenge').status).toBe(401);
    expect(at('reuse-get-doc').status).toBe(200);
    expect(at('reuse-put-el').status).toBe(201);
    expect(at('reuse-get-el').status).toBe(200);
    expect(xml(at('reuse-get-el').body).getAttribute('uri')).toBe('sip:eve@example.com');
    expect(at('reuse-del-el').status).toBe(200);
    expect(at('replay-nc')).toMatchObject({ status: 401, body: 'stale' });
  });
});

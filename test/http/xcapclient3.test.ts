/**
 * python3-xcaplib's xcapclient3 against a default `serve` (no configuration): GET, PUT and
 * DELETE of a document, an element and an attribute, conditional PUTs, the global tree,
 * and every error read as XML. The client is test/http/clients/xcaplib_cli.py, which sends
 * what xcapclient3 sends (User-Agent python-xcaplib/1.2, urllib's form Content-Type on
 * document PUTs, raw selectors, Digest for realm = the SIP domain, a connection per
 * request). The built-in `xcaplib` client profile (docs/clients.md) accepts its document
 * PUTs; the deployment's domain is the realm of the global tree.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_NS } from '../../src/http/error-handler.ts';
import { XCAP_ERROR_NS } from '../../src/xcap/errors.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { contacts, RL_NS, xml } from './helpers.ts';

const SCRIPT = resolve(import.meta.dirname, 'clients/xcaplib_cli.py');

interface Result {
  code: number;
  body: string;
  stderr: string;
  status: number;
  etag: string | undefined;
  type: string | undefined;
  /** `{namespace}tag phrase` of the error body, as the client parsed it. */
  error: string | undefined;
}

describe('xcapclient3 (python3-xcaplib behaviour) against a default serve', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    await addUser(store, 'sip:bob@example.com', 'bob-secret');
    server = await startServe(store);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
  });

  /** Runs `xcaplib_cli.py` as alice with `args`, `input` on stdin. */
  function xcapclient(args: string[], input?: string): Promise<Result> {
    const argv = [SCRIPT, '--xcap-root', server.url, '--sip-address', 'sip:alice@example.com', '--password', 'alice-secret', ...args];
    return new Promise((done) => {
      const child = execFile('python3', argv, (err, stdout, stderr) => {
        const line = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stderr)?.[1];
        done({
          code: err ? Number(err.code) : 0,
          body: stdout,
          stderr,
          status: Number(line('status')),
          etag: line('etag'),
          type: line('content-type'),
          error: line('error'),
        });
      });
      child.stdin?.end(input ?? '');
    });
  }

  /** The client failed the way xcapclient3 reports an HTTP error: exit 1, the body parsed as XML, no traceback. */
  function expectError(r: Result, status: number, condition: string): void {
    expect(r.stderr).not.toContain('Traceback');
    expect(r.status, r.stderr).toBe(status);
    expect(r.code).toBe(1);
    expect(r.error?.startsWith(condition), r.stderr).toBe(true);
  }

  const FRIENDS = '/resource-lists/list[@name="friends"]';
  const DAN = `${FRIENDS}/entry[@uri="sip:dan@example.com"]`;
  const LANG = `${DAN}/display-name/@xml:lang`;

  it('document: put (urllib form Content-Type, application guessed from the root tag) 201, get returns it with the same ETag', async () => {
    const put = await xcapclient(['put'], contacts());
    expect(put.stderr).not.toContain('Traceback');
    expect(put.status, put.stderr).toBe(201);
    const get = await xcapclient(['get', '--app', 'resource-lists']);
    expect(get).toMatchObject({ code: 0, status: 200, type: 'application/resource-lists+xml', body: contacts() });
    expect(get.etag).toBe(put.etag);
  });

  it('element with a raw selector: put 201, get reads it back, the list shows it', async () => {
    const entry = `<entry xmlns="${RL_NS}" uri="sip:dan@example.com"><display-name>Dan</display-name></entry>`;
    expect((await xcapclient(['put', DAN], entry)).status).toBe(201);
    const get = await xcapclient(['get', DAN]);
    expect(get).toMatchObject({ code: 0, status: 200, type: 'application/xcap-el+xml' });
    expect(xml(get.body).getAttribute('uri')).toBe('sip:dan@example.com');
    expect(xml(get.body).textContent).toBe('Dan');
    const list = await xcapclient(['get', FRIENDS]);
    expect(Array.from(xml(list.body).getElementsByTagName('entry')).map((e) => e.getAttribute('uri'))).toContain('sip:dan@example.com');
  });

  it('attribute: put 201, get returns the value, delete 200, then get is a 404 read as XML', async () => {
    expect((await xcapclient(['put', LANG], 'fr')).status).toBe(201);
    expect(await xcapclient(['get', LANG])).toMatchObject({ code: 0, status: 200, type: 'application/xcap-att+xml', body: 'fr' });
    expect((await xcapclient(['delete', LANG])).status).toBe(200);
    expectError(await xcapclient(['get', LANG]), 404, `{${ERROR_NS}}error`);
  });

  it('element delete: 200, then get is a 404 read as XML', async () => {
    expect((await xcapclient(['delete', DAN])).status).toBe(200);
    expectError(await xcapclient(['get', DAN]), 404, `{${ERROR_NS}}error`);
  });

  it('a 409 reaches the client as xcap-error XML it can read', async () => {
    const r = await xcapclient(['put', `${FRIENDS}/entry[@uri="sip:a@example.com"]`], `<entry xmlns="${RL_NS}" uri="sip:b@example.com"/>`);
    expectError(r, 409, `{${XCAP_ERROR_NS}}cannot-insert`);
    expect((await xcapclient(['get', `${FRIENDS}/entry[@uri="sip:b@example.com"]`])).status).toBe(404);
  });

  it('--etag (If-Match): a stale ETag gets a 412 read as XML; the current one replaces the document', async () => {
    const before = await xcapclient(['get', '--app', 'resource-lists']);
    const current = before.etag as string;
    const edited = contacts().replace('Carol', 'Caroline');
    expectError(await xcapclient(['put', '--etag', 'stale'], edited), 412, `{${ERROR_NS}}error`);
    expect((await xcapclient(['get', '--app', 'resource-lists'])).body).toBe(before.body);
    expect((await xcapclient(['put', '--etag', current.replace(/"/g, '')], edited)).status).toBe(200);
    expect((await xcapclient(['get', '--app', 'resource-lists'])).body).toBe(edited);
  });

  it('the global tree answers the realm of the SIP domain: rls-services global/index and xcap-caps are readable', async () => {
    const rls = await xcapclient(['get', '--app', 'rls-services', '--global']);
    expect(rls.stderr).not.toContain('Traceback');
    expect(rls).toMatchObject({ code: 0, status: 200, type: 'application/rls-services+xml' });
    expect(xml(rls.body).localName).toBe('rls-services');
    const caps = await xcapclient(['get', '--app', 'xcap-caps', '--global']);
    expect(caps).toMatchObject({ code: 0, status: 200 });
    expect(xml(caps.body).localName).toBe('xcap-caps');
  });

  it('a wrong password ends in a 401 read as XML; deleting the own document works', async () => {
    // argparse takes the last --sip-address: bob, with alice's password.
    const other = await xcapclient(['put', '--app', 'resource-lists', '--sip-address', 'sip:bob@example.com'], contacts());
    // urllib retries its Digest answer, then gives up with no body of the server's.
    expectError(other, 401, '(no body)');
    expect((await xcapclient(['get', '--app', 'resource-lists'])).body).toBe(contacts().replace('Carol', 'Caroline'));
    expect((await xcapclient(['delete', '--app', 'resource-lists'])).status).toBe(200);
    expectError(await xcapclient(['get', '--app', 'resource-lists']), 404, `{${ERROR_NS}}error`);
  });
});

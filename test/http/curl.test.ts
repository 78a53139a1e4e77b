/**
 * Issue item 9: a client nobody here wrote. Debian's curl with `--digest` drives a real
 * `xcap-bridge serve` process: GET/PUT/DELETE of a document, an element and an attribute,
 * with selectors percent-encoded and raw (`-g`, the way xcaplib sends them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { ATT_TYPE, children, contacts, EL_TYPE, RL_TYPE, xml } from './helpers.ts';

const run = promisify(execFile);

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

describe('curl --digest against a serve process (RFC 4825 §7 with a stock client)', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  let scratch: string;
  beforeAll(async () => {
    store = tempData();
    scratch = mkdtempSync(join(tmpdir(), 'xcapb-curl-'));
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    server = await startServe(store);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  let n = 0;
  async function curl(method: string, path: string, opts: { body?: string; type?: string; headers?: string[]; raw?: boolean } = {}): Promise<CurlResult> {
    const id = ++n;
    const hdr = join(scratch, `${id}.h`);
    const out = join(scratch, `${id}.b`);
    const args = ['-s', '--digest', '-u', 'alice:alice-secret', '-X', method, '-D', hdr, '-o', out, '-w', '%{http_code}'];
    if (opts.raw) args.push('-g');
    if (opts.body !== undefined) args.push('--data-binary', opts.body, '-H', `Content-Type: ${opts.type}`);
    for (const h of opts.headers ?? []) args.push('-H', h);
    args.push(server.url + path);
    const { stdout } = await run('curl', args);
    // --digest makes curl send the request twice; the last header block is the answer.
    const blocks = readFileSync(hdr, 'utf8').trim().split(/\r?\n\r?\n/);
    const headers: Record<string, string> = {};
    for (const line of (blocks[blocks.length - 1] ?? '').split(/\r?\n/).slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status: Number(stdout), headers, body: readFileSync(out, 'utf8') };
  }

  const doc = '/resource-lists/users/sip:alice@example.com/index';

  it('document: PUT creates, GET reads back with ETag and MIME type, PUT replaces, DELETE removes', async () => {
    const put = await curl('PUT', doc, { body: contacts(), type: RL_TYPE });
    expect(put.status).toBe(201);
    const get = await curl('GET', doc);
    expect(get.status).toBe(200);
    expect(get.body).toBe(contacts());
    expect(get.headers['content-type']).toBe(RL_TYPE);
    expect(get.headers.etag).toBe(put.headers.etag);
    const again = await curl('PUT', doc, { body: contacts().replace('Bob', 'Robert'), type: RL_TYPE, headers: [`If-Match: ${get.headers.etag}`] });
    expect(again.status).toBe(200);
    expect((await curl('GET', doc)).body).toContain('Robert');
    expect((await curl('PUT', doc, { body: contacts(), type: RL_TYPE, headers: [`If-Match: ${get.headers.etag}`] })).status).toBe(412);
    expect((await curl('DELETE', doc)).status).toBe(200);
    expect((await curl('GET', doc)).status).toBe(404);
  });

  it('element: PUT adds an entry (encoded selector), GET reads it back, DELETE removes it (raw selector)', async () => {
    expect((await curl('PUT', doc, { body: contacts(), type: RL_TYPE })).status).toBe(201);
    const encoded = `${doc}/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:dan@example.com%22%5D`;
    const put = await curl('PUT', encoded, { body: '<entry uri="sip:dan@example.com"><display-name>Dan</display-name></entry>', type: EL_TYPE });
    expect(put.status).toBe(201);
    const get = await curl('GET', encoded);
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe(EL_TYPE);
    expect(xml(get.body).getAttribute('uri')).toBe('sip:dan@example.com');
    const raw = `${doc}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:dan@example.com"]`;
    expect((await curl('GET', raw, { raw: true })).body).toBe(get.body);
    expect((await curl('DELETE', raw, { raw: true })).status).toBe(200);
    expect((await curl('GET', encoded)).status).toBe(404);
    const friends = xml((await curl('GET', `${doc}/~~/resource-lists/list[1]`, { raw: true })).body);
    expect(children(friends, 'entry').map((e) => e.getAttribute('uri'))).toEqual(['sip:bob@example.com', 'sip:carol@example.com']);
  });

  it('attribute: PUT, GET and DELETE of xml:lang on a display-name', async () => {
    const at = `${doc}/~~/resource-lists/list[@name="friends"]/entry[1]/display-name/@xml:lang`;
    const put = await curl('PUT', at, { body: 'de', type: ATT_TYPE, raw: true });
    expect(put.status).toBe(201);
    const get = await curl('GET', at, { raw: true });
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe(ATT_TYPE);
    expect(get.body).toBe('de');
    expect((await curl('GET', doc)).headers.etag).toBe(put.headers.etag);
    expect((await curl('DELETE', at, { raw: true })).status).toBe(200);
    expect((await curl('GET', at, { raw: true })).status).toBe(404);
  });

  it('errors reach curl as they are: 409 with an xcap-error body, 401 for a wrong password', async () => {
    const r = await curl('PUT', `${doc}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:a@example.com"]`, { body: '<entry uri="sip:b@example.com"/>', type: EL_TYPE, raw: true });
    expect(r.status).toBe(409);
    expect(r.headers['content-type']).toBe('application/xcap-error+xml');
    expect(r.body).toContain('<cannot-insert');
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', 'alice:nope', server.url + doc]);
    expect(stdout).toBe('401');
  });
});

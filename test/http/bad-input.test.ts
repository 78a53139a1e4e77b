/**
 * Bad input gets a clear error and loses nothing (issue item 8): DOCTYPE, external entities
 * (XXE) and entity-expansion bombs are refused without expansion; oversize bodies get 413;
 * invalid UTF-8 409 not-utf-8; malformed URIs 4xx; and after each the server still serves
 * the stored document unchanged. A property test sends random paths under the root: never 5xx.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicHeader, rawRequest } from '../helpers/digest-client.ts';
import { aliceWithContacts, ALICE_RL, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

describe('bad input over HTTP: refused clearly, nothing lost, server keeps serving', () => {
  const alice = aliceWithContacts({ config: { server: { maxBodyBytes: 64 * 1024 } } });

  const entrySel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]')}`;

  it('XXE: an external entity reading /etc/passwd is refused and nothing of the file leaks', async () => {
    const doc = `<?xml version="1.0"?>
<!DOCTYPE resource-lists [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<resource-lists xmlns="${RL_NS}"><list name="friends"><entry uri="sip:x@example.com"><display-name>&xxe;</display-name></entry></list></resource-lists>`;
    const r = await alice.c.put(ALICE_RL, doc, RL_TYPE);
    expectConflict(r, 'not-well-formed');
    expect(r.body).not.toContain('root:');
    const frag = await alice.c.put(entrySel, '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><entry uri="sip:x@example.com"><display-name>&x;</display-name></entry>', EL_TYPE);
    expectConflict(frag, 'not-xml-frag');
    expect(frag.body).not.toContain('root:');
    const whole = await alice.c.get(ALICE_RL);
    expect(whole.body).not.toContain('root:');
    await alice.unchanged();
  });

  it('billion laughs: refused without expansion (fast, small answer)', async () => {
    let ents = '<!ENTITY lol0 "lolololololololololol">';
    for (let i = 1; i < 10; i++) ents += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const bomb = `<?xml version="1.0"?><!DOCTYPE resource-lists [${ents}]><resource-lists xmlns="${RL_NS}"><list name="&lol9;"/></resource-lists>`;
    const r = await alice.c.put(ALICE_RL, bomb, RL_TYPE);
    expectConflict(r, 'not-well-formed');
    expect(r.body.length).toBeLessThan(2000);
    await alice.unchanged();
  });

  it('a bare DOCTYPE (no entities) and an internal parameter entity are refused too', async () => {
    expectConflict(await alice.c.put(ALICE_RL, `<!DOCTYPE resource-lists>${contacts().replace(/^<\?xml[^>]*>\n/, '')}`, RL_TYPE), 'not-well-formed');
    expectConflict(await alice.c.put(ALICE_RL, `<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x"> %p;]><resource-lists xmlns="${RL_NS}"/>`, RL_TYPE), 'not-well-formed');
    await alice.unchanged();
  });

  it('a body over server.maxBodyBytes gets 413; the connection is not left hanging', async () => {
    const big = contacts().replace('</resource-lists>', `<!--${'x'.repeat(70 * 1024)}--></resource-lists>`);
    const r = await alice.c.put(ALICE_RL, big, RL_TYPE);
    expect(r.status).toBe(413);
    await alice.unchanged();
  });

  it('invalid UTF-8 gets 409 not-utf-8 (overlong, surrogate, truncated sequences)', async () => {
    const head = Buffer.from(`<resource-lists xmlns="${RL_NS}"><list name="`);
    const tail = Buffer.from('"/></resource-lists>');
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff]]) {
      expectConflict(await alice.c.put(ALICE_RL, Buffer.concat([head, Buffer.from(bad), tail]), RL_TYPE), 'not-utf-8');
    }
    await alice.unchanged();
  });

  it('malformed URIs get 4xx: bad %-encoding, .. segments, NUL, encoded slash, empty selector', async () => {
    const auth = { Authorization: basicHeader({ username: 'alice', password: 'alice-secret' }) };
    for (const path of [
      '/xcap-root/resource-lists/users/sip:alice@example.com/ind%ZZex',
      '/xcap-root/resource-lists/users/sip:alice@example.com/%',
      '/xcap-root/resource-lists/users/sip:alice@example.com/../bob/index',
      '/xcap-root/resource-lists/users/sip:alice@example.com/./index',
      '/xcap-root/resource-lists/users/sip:alice@example.com/in%00dex',
      '/xcap-root/resource-lists/users/sip:alice@example.com/a%2Fb',
      '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/',
      '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[',
      '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="a]',
      '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists%ZZ',
      '/xcap-root/resource-lists/users/sip:alice@example.com/index?xmlns(',
      '/xcap-root/resource-lists/users/',
      '/xcap-root/resource-lists',
      '/xcap-root/',
      '/xcap-root',
    ]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await rawRequest(method, alice.gw.origin + path, { ...auth, 'Content-Type': RL_TYPE }, method === 'PUT' ? contacts() : undefined);
        expect(r.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
    await alice.unchanged();
  });

  it('property: random paths, and random selectors on an existing document, never get a 5xx', async () => {
    const auth = { Authorization: basicHeader({ username: 'alice', password: 'alice-secret' }) };
    const piece = fc.oneof(
      fc.constantFrom('resource-lists', 'users', 'global', 'sip:alice@example.com', 'index', '~~', 'list', 'entry', '[1]', '[@name="friends"]', '@', '"', '[', ']', '*', 'namespace::*', '%', '%2F', '%00', '%3F', '?', 'xmlns(', ')', '..', '', ':', 'p:'),
      fc.string({ maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 10 }), fc.array(fc.constantFrom('/', ''), { minLength: 10, maxLength: 10 }), fc.constantFrom('GET', 'PUT', 'DELETE'), async (parts, seps, method) => {
        const tail = parts.map((p, i) => seps[i] + p).join('');
        // The request line carries bytes; anything outside visible ASCII is sent percent-encoded.
        const prefix = method === 'GET' && tail.length % 2 === 0 ? '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/' : '/xcap-root/';
        const path = prefix + tail.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch).replace(/%(?![0-9A-F]{2})/g, '%25'));
        const r = await rawRequest(method, alice.gw.origin + path, { ...auth, 'Content-Type': EL_TYPE }, method === 'PUT' ? '<list name="p"/>' : undefined);
        expect(r.status, `${method} ${path}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
    // Whatever the random writes did to other documents, alice's index is either intact or
    // changed through valid operations; the server still answers it.
    expect((await alice.c.get(ALICE_RL)).status).toBe(200);
  });
});

/**
 * Hostile bodies over HTTP (RFC 4825 §11.2 constraint-failure): elements with tens of
 * thousands of attributes or namespace declarations, and nesting tens of thousands deep,
 * are refused by the server's limits (`server.maxXmlAttributes`, `server.maxXmlDepth`)
 * before any DOM is built, with a phrase naming the limit; the limits are configurable and
 * what is within them is stored. Their cost stays linear in the body (the fixed-workload
 * guards are test/rfc4825/hostile-input-regression.test.ts; how long /healthz waits while
 * such a body is processed is measured by bench/hostile.ts, not asserted here).
 */
import { describe, expect, it } from 'vitest';
import { aliceWithContacts, ALICE_RL, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

const entrySel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]')}`;
const listSel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="deep"]')}`;

/** An element `<list name="deep">` with `depth` levels of `<list>` in all. */
function nested(depth: number): string {
  return `<list name="deep">${'<list>'.repeat(depth - 1)}${'</list>'.repeat(depth - 1)}</list>`;
}

/** An `<entry>` carrying `n` attributes beyond its uri, each a namespace declaration when `decls`. */
function manyAttributes(n: number, decls = false): string {
  const attrs = Array.from({ length: n }, (_, i) => (decls ? ` xmlns:p${i}="urn:x:${i}"` : ` a${i}="v"`)).join('');
  return `<entry uri="sip:x@example.com"${attrs}/>`;
}

// Every whole document is validated on the request thread, or on a validation thread (server.validationThreads): same answers.
const VALIDATION = {
  'on the request thread': { validationThreads: 0 },
  'on a validation thread': { validationThreads: 1, validationThreadMinBytes: 0 },
} as const;

describe.each(Object.entries(VALIDATION))('hostile bodies over HTTP, validated %s: refused by configurable limits with constraint-failure', (_, server) => {
  const alice = aliceWithContacts({ once: true, config: { server } });

  it('50,000 attributes on one element: element and document PUTs get 409 constraint-failure naming server.maxXmlAttributes', async () => {
    const phrase = expectConflict(await alice.c.put(entrySel, manyAttributes(50_000), EL_TYPE), 'constraint-failure').getAttribute('phrase');
    expect(phrase).toMatch(/at line 1, column 1 has more than 100 attributes.*server\.maxXmlAttributes/);
    const doc = contacts().replace('<entry uri="sip:erin@example.com"/>', manyAttributes(50_000).replace('sip:x@', 'sip:erin@'));
    expect(expectConflict(await alice.c.put(ALICE_RL, doc, RL_TYPE), 'constraint-failure').getAttribute('phrase')).toMatch(/line 8.*server\.maxXmlAttributes/);
    await alice.unchanged();
  });

  it('30,000 namespace declarations on one element count as attributes', async () => {
    expectConflict(await alice.c.put(entrySel, manyAttributes(30_000, true), EL_TYPE), 'constraint-failure');
    await alice.unchanged();
  });

  it('50,000-deep nesting: element and document PUTs get 409 constraint-failure naming server.maxXmlDepth', async () => {
    const phrase = expectConflict(await alice.c.put(listSel, nested(50_000), EL_TYPE), 'constraint-failure').getAttribute('phrase');
    expect(phrase).toMatch(/nested 101 deep in the document.*at most 100 \(server\.maxXmlDepth\)/);
    const doc = `<resource-lists xmlns="${RL_NS}">${nested(50_000)}</resource-lists>`;
    expectConflict(await alice.c.put(ALICE_RL, doc, RL_TYPE), 'constraint-failure');
    await alice.unchanged();
  });

  it('30,000 repeats of one entry: 409 uniqueness-failure naming the second one and free values', async () => {
    const doc = `<resource-lists xmlns="${RL_NS}"><list name="x">${'<entry uri="sip:a@example.com"/>'.repeat(30_000)}</list></resource-lists>`;
    const cond = expectConflict(await alice.c.put(ALICE_RL, doc, RL_TYPE), 'uniqueness-failure');
    expect(cond.getAttribute('phrase')).toBe('sip:a@example.com is already in use');
    const exists = cond.getElementsByTagNameNS(cond.namespaceURI, 'exists')[0]!;
    expect(decodeURIComponent(exists.getAttribute('field') as string)).toBe('resource-lists/list[1]/entry[2]/@uri');
    expect(Array.from(exists.getElementsByTagNameNS(cond.namespaceURI, 'alt-value')).map((a) => a.textContent)).toEqual(['sip:a-1@example.com', 'sip:a-2@example.com']);
    await alice.unchanged();
  });

  it('a document that is not well-formed and one in the wrong namespace: the phrases say what and where', async () => {
    const broken = `<resource-lists xmlns="${RL_NS}">\n<list name="a">\n</lst>\n</resource-lists>`;
    expect(expectConflict(await alice.c.put(ALICE_RL, broken, RL_TYPE), 'not-well-formed').getAttribute('phrase')).toMatch(/<\/lst>.*<list>.*line 3/);
    expectConflict(await alice.c.put(ALICE_RL, '<resource-lists xmlns="urn:example:other"/>', RL_TYPE), 'schema-validation-error');
    await alice.unchanged();
  });

  it('within the limits, large bodies are stored: 10,000 entries, 80,000 character references', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => `<entry uri="sip:u${i}@example.com"/>`).join('');
    const big = `<resource-lists xmlns="${RL_NS}"><list name="all">${entries}</list><list name="refs"><entry uri="sip:r@example.com"><display-name>${'&#x41;'.repeat(80_000)}</display-name></entry></list></resource-lists>`;
    expect((await alice.c.put(ALICE_RL, big, RL_TYPE)).status).toBe(200);
    expect((await alice.c.get(ALICE_RL)).body).toBe(big);
    const last = await alice.c.get(`${ALICE_RL}/~~/${enc('resource-lists/list[@name="all"]/entry[10000]/@uri')}`);
    expect(last.body).toBe('sip:u9999@example.com');
    await alice.reseed();
  });
});

describe('the limits are configuration', () => {
  const alice = aliceWithContacts({ config: { server: { maxXmlDepth: 4, maxXmlAttributes: 3 } }, once: true });

  it('server.maxXmlDepth counts the document the element PUT makes: as deep as the limit is stored, one level deeper is refused', async () => {
    // resource-lists/list is at depth 2: a <list> there with two levels below it reaches 4.
    const depthOf = async (): Promise<number> => ((await alice.c.get(listSel)).body.match(/<list/g) ?? []).length;
    expect((await alice.c.put(listSel, nested(3), EL_TYPE)).status).toBe(201);
    expect(await depthOf()).toBe(3);
    const phrase = expectConflict(await alice.c.put(listSel, nested(4), EL_TYPE), 'constraint-failure').getAttribute('phrase');
    expect(phrase).toMatch(/nested 5 deep in the document; this server accepts at most 4/);
    expect(await depthOf()).toBe(3);
    // A whole document is counted from its root.
    const doc = `<resource-lists xmlns="${RL_NS}">${nested(3)}</resource-lists>`;
    expect((await alice.c.put(ALICE_RL, doc, RL_TYPE)).status).toBe(200);
    expectConflict(await alice.c.put(ALICE_RL, `<resource-lists xmlns="${RL_NS}">${nested(4)}</resource-lists>`, RL_TYPE), 'constraint-failure');
    expect((await alice.c.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(200);
  });

  it('server.maxXmlAttributes: namespace declarations count; three attributes pass, four do not', async () => {
    const three = '<entry uri="sip:x@example.com" xmlns:a="urn:a" a:b="1"/>';
    const attrSel = `${entrySel}/${enc('@a:b')}?xmlns(a=urn:a)`;
    expect((await alice.c.put(entrySel, three, EL_TYPE)).status).toBe(201);
    expect((await alice.c.get(attrSel)).body).toBe('1');
    expectConflict(await alice.c.put(entrySel, '<entry uri="sip:x@example.com" xmlns:a="urn:a" a:b="2" a:c="2"/>', EL_TYPE), 'constraint-failure');
    expect((await alice.c.get(attrSel)).body).toBe('1');
  });
});

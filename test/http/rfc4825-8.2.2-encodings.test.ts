/**
 * RFC 4825 §8.2.2: documents and fragments are UTF-8, and anything else is 409 not-utf-8
 * for document, element and attribute PUTs alike: bytes that are not UTF-8, UTF-16 or
 * UTF-32 with or without a BOM, and an XML declaration naming another encoding (which,
 * stored over UTF-8 bytes, would contradict itself). Character references must name
 * characters XML allows: a lone surrogate, NUL or U+FFFE is refused, never replaced.
 * A `charset` parameter on the Content-Type names the body's encoding (RFC 7303 §3): `utf-8` is
 * accepted, any other charset is 409 not-utf-8 (the media type is right, the body declared in
 * another encoding). After every refusal the document reads back unchanged.
 */
import { describe, expect, it } from 'vitest';
import { aliceWithContacts, ALICE_RL, ATT_TYPE, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE, xml } from './helpers.ts';

/** A document naming `encoding` in its declaration; its bytes are UTF-8 (é included). */
function declaring(encoding: string): string {
  return `<?xml version="1.0" encoding="${encoding}"?>\n<resource-lists xmlns="${RL_NS}"><list name="café"/></resource-lists>`;
}

/** `text` as UTF-16 code units, little or big endian, without a BOM. */
function utf16(text: string, bigEndian = false): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return bigEndian ? le.swap16() : le;
}

describe('RFC 4825 §8.2.2 encodings over HTTP', () => {
  const alice = aliceWithContacts();

  const entrySel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]')}`;
  const entry = (display: string): string => `<entry uri="sip:x@example.com"><display-name>${display}</display-name></entry>`;
  const attrSel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]/@uri')}`;

  describe('an XML declaration naming another encoding', () => {
    it.each(['ISO-8859-1', 'latin1', 'UTF-16', 'UTF-7', 'EBCDIC-CP-US', 'x-no-such-encoding', 'utf8'])('%s: 409 not-utf-8 for a document', async (encoding) => {
      const phrase = expectConflict(await alice.c.put(ALICE_RL, declaring(encoding), RL_TYPE), 'not-utf-8').getAttribute('phrase');
      expect(phrase).toContain(encoding);
      await alice.unchanged();
    });

    it.each(['ISO-8859-1', 'UTF-16', 'UTF-7', 'x-no-such-encoding'])('%s: 409 not-utf-8 for an element and an attribute', async (encoding) => {
      expectConflict(await alice.c.put(entrySel, `<?xml version="1.0" encoding="${encoding}"?>${entry('café')}`, EL_TYPE), 'not-utf-8');
      expectConflict(await alice.c.put(attrSel, `<?xml version="1.0" encoding="${encoding}"?>sip:x@example.com`, ATT_TYPE), 'not-utf-8');
      await alice.unchanged();
    });

    it('UTF-8 in any case, or no encoding at all, is accepted and stored as sent', async () => {
      for (const decl of ['<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0' encoding='utf-8'?>", '<?xml version="1.0"?>']) {
        const body = `${decl}\n<resource-lists xmlns="${RL_NS}"><list name="café"/></resource-lists>`;
        expect((await alice.c.put(ALICE_RL, body, RL_TYPE)).status).toBe(200);
        expect((await alice.c.get(ALICE_RL)).body).toBe(body);
      }
    });
  });

  // RFC 7303 §3: a charset parameter on an XML media type names the body's encoding.
  describe('a charset parameter on the Content-Type', () => {
    it.each([`${RL_TYPE}; charset=utf-8`, `${RL_TYPE};charset="UTF-8"`, `${RL_TYPE.toUpperCase()}; Charset=Utf-8`])('%s: the document is stored as sent', async (type) => {
      const body = contacts().replace('Bob', 'Bobé');
      expect((await alice.c.put(ALICE_RL, body, type)).status).toBe(200);
      expect((await alice.c.get(ALICE_RL)).body).toBe(body);
    });

    it('charset=utf-8 on an element and an attribute PUT: stored', async () => {
      expect((await alice.c.put(entrySel, entry('café'), `${EL_TYPE}; charset=utf-8`)).status).toBe(201);
      expect((await alice.c.get(entrySel)).body).toBe(entry('café'));
      const xAttr = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]/@uri')}`;
      expect((await alice.c.put(xAttr, 'sip:x@example.com', `${ATT_TYPE}; charset="utf-8"`)).status).toBe(200);
    });

    it.each(['iso-8859-1', 'UTF-16', 'us-ascii', 'utf8', '"windows-1252"'])('charset=%s: 409 not-utf-8 naming it, for a document, an element and an attribute', async (charset) => {
      const phrase = expectConflict(await alice.c.put(ALICE_RL, contacts(), `${RL_TYPE}; charset=${charset}`), 'not-utf-8').getAttribute('phrase');
      expect(phrase).toContain(charset.replace(/"/g, ''));
      expectConflict(await alice.c.put(entrySel, entry('x'), `${EL_TYPE}; charset=${charset}`), 'not-utf-8');
      expectConflict(await alice.c.put(attrSel, 'sip:x@example.com', `${ATT_TYPE}; charset=${charset}`), 'not-utf-8');
      await alice.unchanged();
    });

    it('a charset does not make another media type acceptable: 415', async () => {
      expect((await alice.c.put(ALICE_RL, contacts(), 'application/xml; charset=utf-8')).status).toBe(415);
      expect((await alice.c.put(entrySel, entry('x'), `${RL_TYPE}; charset=utf-8`)).status).toBe(415);
      await alice.unchanged();
    });
  });

  describe('bytes that are not UTF-8', () => {
    it('UTF-16 without a BOM (both byte orders) and UTF-32: 409 not-utf-8 for a document and an element', async () => {
      for (const body of [utf16(contacts()), utf16(contacts(), true), Buffer.from([0, 0, 0, 0x3c, 0, 0, 0, 0x61])]) {
        expectConflict(await alice.c.put(ALICE_RL, body, RL_TYPE), 'not-utf-8');
      }
      expectConflict(await alice.c.put(entrySel, utf16(entry('x')), EL_TYPE), 'not-utf-8');
      await alice.unchanged();
    });

    it('UTF-16 with a BOM, Latin-1 bytes and EBCDIC bytes: 409 not-utf-8 for a document, an element and an attribute', async () => {
      const latin1 = Buffer.from(entry('caf\u00e9'), 'latin1');
      // "<e/>" in EBCDIC (code page 037).
      const ebcdic = Buffer.from([0x4c, 0x85, 0x61, 0x6e]);
      expectConflict(await alice.c.put(ALICE_RL, Buffer.concat([Buffer.from([0xff, 0xfe]), utf16(contacts())]), RL_TYPE), 'not-utf-8');
      expectConflict(await alice.c.put(ALICE_RL, ebcdic, RL_TYPE), 'not-utf-8');
      expectConflict(await alice.c.put(entrySel, latin1, EL_TYPE), 'not-utf-8');
      expectConflict(await alice.c.put(attrSel, Buffer.from('sip:caf\u00e9@example.com', 'latin1'), ATT_TYPE), 'not-utf-8');
      await alice.unchanged();
    });
  });

  describe('character references to characters XML does not allow', () => {
    const refs = ['&#xD800;', '&#xdfff;', '&#55296;', '&#0;', '&#x0;', '&#xFFFE;', '&#65535;', '&#x110000;', '&#x1;'];

    it.each(refs)('%s in element text or an attribute of an element PUT: 409 not-xml-frag', async (ref) => {
      const cond = expectConflict(await alice.c.put(entrySel, entry(`a${ref}b`), EL_TYPE), 'not-xml-frag');
      expect(cond.getAttribute('phrase')).toMatch(/character reference .* at line 1, column \d+/);
      expectConflict(await alice.c.put(entrySel, `<entry uri="sip:x@example.com" xmlns:q="urn:q" q:a="${ref}"/>`, EL_TYPE), 'not-xml-frag');
      await alice.unchanged();
    });

    it.each(refs)('%s in a document, in text or in an attribute: 409 not-well-formed', async (ref) => {
      expectConflict(await alice.c.put(ALICE_RL, contacts().replace('>Bob<', `>Bob${ref}<`), RL_TYPE), 'not-well-formed');
      expectConflict(await alice.c.put(ALICE_RL, contacts().replace('name="work"', `name="work${ref}"`), RL_TYPE), 'not-well-formed');
      await alice.unchanged();
    });

    it.each(refs)('%s as an attribute PUT body: 409 not-xml-att-value', async (ref) => {
      expectConflict(await alice.c.put(attrSel, `sip:${ref}@example.com`, ATT_TYPE), 'not-xml-att-value');
      await alice.unchanged();
    });

    it('references to allowed characters, astral ones included, are accepted, stored as sent (§8.3) and mean the characters', async () => {
      const body = entry('&#x1F600;&#65;&#xE000;&#x10FFFF;&#x0041;');
      const r = await alice.c.put(entrySel, body, EL_TYPE);
      expect(r.status).toBe(201);
      expect((await alice.c.get(entrySel)).body).toBe(body);
      const names = xml((await alice.c.get(ALICE_RL)).body).getElementsByTagNameNS(RL_NS, 'display-name');
      expect(Array.from(names).map((n) => n.textContent)).toContain('\u{1F600}A\uE000\u{10FFFF}A');
    });

    it('a reference-like text inside a comment or CDATA section is not a reference and is kept', async () => {
      const r = await alice.c.put(entrySel, '<entry uri="sip:x@example.com"><!-- &#xD800; --><display-name><![CDATA[&#0;]]></display-name></entry>', EL_TYPE);
      expect(r.status).toBe(201);
      expect((await alice.c.get(entrySel)).body).toContain('&#0;');
    });
  });
});

/**
 * Shared pieces of the HTTP tests: documents, paths, and the 409 check every conflict goes
 * through (status, MIME type, body valid against the xcap-error schema, condition element).
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { DOMParser } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import { validateXcapErrorBody } from '../../src/appusage/xcap-error/index.ts';
import { XCAP_ERROR_NS } from '../../src/xcap/errors.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { ClientResponse, XcapClient } from '../helpers/digest-client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

export const RL_NS = 'urn:ietf:params:xml:ns:resource-lists';
export const RLS_NS = 'urn:ietf:params:xml:ns:rls-services';
export const CP_NS = 'urn:ietf:params:xml:ns:common-policy';
export const PR_NS = 'urn:ietf:params:xml:ns:pres-rules';
export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';

export const ALICE_XUI = 'sip:alice@example.com';
/** Alice's resource-lists index, relative to the XCAP root. */
export const ALICE_RL = `/resource-lists/users/${ALICE_XUI}/index`;

export const RL_TYPE = 'application/resource-lists+xml';
export const EL_TYPE = 'application/xcap-el+xml';
export const ATT_TYPE = 'application/xcap-att+xml';
export const RLS_TYPE = 'application/rls-services+xml';

/** A resource-lists document: `friends` (bob, carol) and `work` (erin). */
export function contacts(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>
  </list>
  <list name="work">
    <entry uri="sip:erin@example.com"/>
  </list>
</resource-lists>
`;
}

/** An rls-services document (`rl:` bound to resource-lists), one `<service>` per [uri, content] pair. */
export function services(...entries: Array<[uri: string, body: string]>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="${RLS_NS}" xmlns:rl="${RL_NS}">
${entries.map(([uri, body]) => `  <service uri="${uri}">${body}<packages><package>presence</package></packages></service>`).join('\n')}
</rls-services>
`;
}

/** Percent-encodes a node selector the way a careful client does (`"`, `[`, `]`, `@` kept as pchar). */
export function enc(selector: string): string {
  return selector
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%40/g, '@').replace(/%3A/g, ':'))
    .join('/');
}

/** Parses an XML response body (throws on anything not well-formed). */
export function xml(body: string): Element {
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') throw new Error(msg); } }).parseFromString(body, 'text/xml');
  return doc.documentElement!;
}

/**
 * Parses an element GET body (RFC 4825 §8.3: as stored, so it may use prefixes and the
 * default namespace its ancestors declare) under the bindings in scope where it came from.
 */
export function fragment(body: string, inScope: Record<string, string>): Element {
  const doc = new DOMParser({ xmlns: inScope, onError: (level, msg) => { if (level !== 'warning') throw new Error(msg); } }).parseFromString(body, 'text/xml');
  return doc.documentElement!;
}

/**
 * Expects a 409 carrying `tag`: MIME type application/xcap-error+xml and a body valid
 * against the xcap-error schema. Returns the condition element for further checks.
 */
export function expectConflict(res: ClientResponse, tag: string): Element {
  expect(res.status, res.body).toBe(409);
  expect(res.headers.get('content-type')).toBe('application/xcap-error+xml');
  validateXcapErrorBody(res.body);
  const root = xml(res.body);
  expect(root.namespaceURI).toBe(XCAP_ERROR_NS);
  const cond = Array.from(root.childNodes).find((n) => n.nodeType === 1) as Element | undefined;
  expect(cond?.localName).toBe(tag);
  return cond as Element;
}

/** Child elements of `el` with local name `name`. */
export function children(el: Element, name: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).localName === name);
}

/** What `aliceWithContacts` sets up for the tests of one describe block. */
export interface SeededAlice {
  readonly gw: TestGateway;
  /** Alice's Basic client. */
  readonly c: XcapClient;
  /** Expects Alice's index to read back as seeded: the seeding's ETag and the contacts() bytes. */
  unchanged(): Promise<void>;
  /** Puts contacts() again (after a test that stored something else) and makes it what `unchanged` expects. */
  reseed(): Promise<void>;
}

/**
 * Registers the describe block's hooks: a gateway started once (with `config`), Alice's
 * Basic client, and her index seeded with contacts() before each test (or once, with
 * `once`, for blocks whose tests all leave it unchanged). Read the fields inside tests only.
 */
export function aliceWithContacts(opts: { config?: Omit<ConfigInput, 'store'>; once?: boolean } = {}): SeededAlice {
  let gw: TestGateway | undefined;
  let c: XcapClient | undefined;
  let etag: string | undefined;
  const reseed = async (): Promise<void> => {
    const r = await (c as XcapClient).put(ALICE_RL, contacts(), RL_TYPE);
    expect([200, 201]).toContain(r.status);
    etag = r.headers.get('etag') as string;
  };
  beforeAll(async () => {
    gw = await startTestGateway(opts.config === undefined ? {} : { config: opts.config });
    c = gw.client('alice', 'alice-secret', { mode: 'basic' });
    if (opts.once === true) await reseed();
  });
  afterAll(() => gw?.stop());
  if (opts.once !== true) beforeEach(reseed);
  return {
    get gw() {
      return gw as TestGateway;
    },
    get c() {
      return c as XcapClient;
    },
    async unchanged() {
      const r = await (c as XcapClient).get(ALICE_RL);
      expect(r.status).toBe(200);
      expect(r.headers.get('etag')).toBe(etag);
      expect(r.body).toBe(contacts());
    },
    reseed,
  };
}

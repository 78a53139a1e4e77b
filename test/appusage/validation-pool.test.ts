/**
 * Validation on worker threads (src/xcap/validation-pool.ts) answers what validation on the
 * request thread answers (RFC 4825 §8.2.2 validity, §11 conditions): for valid documents,
 * schema errors, bad XML, the RFC 4826 uniqueness failure with its field and suggestions,
 * usage constraints, a lenient client flag, a custom usage's own XSD, and the pre-scan of a
 * client's body. A thread
 * that dies (here: out of memory under a small heap limit) fails only its own job and the
 * pool goes on with a fresh thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type RegistryOptions, type UsageRegistry } from '../../src/appusage/registry.ts';
import { ENTRY_WITHOUT_URI } from '../../src/appusage/resource-lists/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { lazyCandidate } from '../../src/xcap/document-writer.ts';
import { HttpError, InternalError, UniquenessFailure, XcapConflict } from '../../src/xcap/errors.ts';
import { ValidationPool } from '../../src/xcap/validation-pool.ts';
import { prescanDocument, type XmlLimits } from '../../src/xcap/xml-prescan.ts';
import { ALICE, context, fixture, openStore } from './context.ts';

const RL = 'urn:ietf:params:xml:ns:resource-lists';
const RLS = 'urn:ietf:params:xml:ns:rls-services';
const CUSTOM_NS = 'urn:example:pool';
const LIMITS: XmlLimits = { maxDepth: 8, maxAttributes: 4 };

const rl = (inner: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL}">${inner}</resource-lists>`;
const rls = (uri: string): string =>
  `<rls-services xmlns="${RLS}"><service uri="${uri}"><list/><packages><package>presence</package></packages></service></rls-services>`;

interface Case {
  readonly name: string;
  readonly auid: string;
  readonly text: string;
  /** What the inline answer is, so that a case cannot pass by both sides failing alike. */
  readonly expect: 'valid' | string;
  readonly xui?: string;
  readonly lenient?: readonly string[];
  readonly prescan?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'the RFC 4826 example', auid: 'resource-lists', text: fixture('rfc4826-resource-lists.xml'), expect: 'valid' },
  { name: 'many entries', auid: 'resource-lists', text: rl(`<list name="a">${Array.from({ length: 2000 }, (_, i) => `<entry uri="sip:u${i}@x"/>`).join('')}</list>`), expect: 'valid' },
  { name: 'an attribute the schema does not allow', auid: 'resource-lists', text: rl('<list name="a" bogus="1"/>'), expect: 'schema-validation-error' },
  { name: 'tags that do not match', auid: 'resource-lists', text: rl('<list name="a">\n</lst>'), expect: 'not-well-formed' },
  { name: 'a repeated entry', auid: 'resource-lists', text: rl('<list name="a"><entry uri="sip:a@x"/><entry uri="sip:b@x"/><entry uri="sip:a@x"/></list>'), expect: 'uniqueness-failure' },
  {
    name: 'a repeat the fast path leaves to libxml2',
    auid: 'resource-lists',
    text: rl('<list name="a" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="false"><entry uri="sip:a@x"/><entry uri="sip:a@x"/></list>'),
    expect: 'uniqueness-failure',
  },
  { name: 'an absolute entry-ref', auid: 'resource-lists', text: rl('<list name="a"><entry-ref ref="/resource-lists/users/x/index"/></list>'), expect: 'constraint-failure' },
  { name: 'an entry without uri, strict', auid: 'resource-lists', text: rl('<list name="a"><entry><display-name>x</display-name></entry></list>'), expect: 'schema-validation-error' },
  {
    name: 'an entry without uri, lenient',
    auid: 'resource-lists',
    text: rl('<list name="a"><entry><display-name>x</display-name></entry></list>'),
    lenient: [ENTRY_WITHOUT_URI],
    expect: 'valid',
  },
  { name: 'a free service URI', auid: 'rls-services', text: rls('sip:free@example.com'), expect: 'valid' },
  { name: 'a custom usage, valid', auid: 'com.example.pool', text: `<settings xmlns="${CUSTOM_NS}"><item>a</item></settings>`, expect: 'valid' },
  { name: 'a custom usage, invalid', auid: 'com.example.pool', text: `<settings xmlns="${CUSTOM_NS}"><other/></settings>`, expect: 'schema-validation-error' },
  { name: 'too deep for the pre-scan', auid: 'resource-lists', text: rl(`<list name="a">${'<list>'.repeat(9)}${'</list>'.repeat(9)}</list>`), prescan: true, expect: 'constraint-failure' },
  { name: 'a DOCTYPE', auid: 'resource-lists', text: `<!DOCTYPE resource-lists []>${rl('')}`, prescan: true, expect: 'not-well-formed' },
];

/** What a client would see of an outcome: status, condition, phrase and body. */
function outcome(err: unknown): unknown {
  if (err === undefined) return 'valid';
  if (err instanceof XcapConflict) return { status: err.status, tag: err.tag, phrase: err.phrase, body: err.detailXml(), class: err.constructor.name };
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  return { error: String(err) };
}

async function settle(p: Promise<void> | void): Promise<unknown> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('validation on worker threads answers what inline validation answers', () => {
  let dir: string;
  let options: RegistryOptions;
  let usages: UsageRegistry;
  let store: DocumentStore;
  let pool: ValidationPool;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xcapb-pool-'));
    const xsd = join(dir, 'pool.xsd');
    writeFileSync(
      xsd,
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${CUSTOM_NS}" elementFormDefault="qualified">
  <xs:element name="settings"><xs:complexType><xs:sequence><xs:element name="item" type="xs:string" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
</xs:schema>`,
    );
    options = { custom: [{ auid: 'com.example.pool', namespace: CUSTOM_NS, mimeType: 'application/vnd.example.pool+xml', xsd, scopes: { global: false, users: true } }] };
    usages = await createRegistry(options);
    store = await openStore();
    pool = new ValidationPool({ threads: 2, minChars: 0, registry: options });
  });
  afterAll(async () => {
    await pool.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES)('$name', async (c) => {
    const ctx = context(store, { auid: c.auid, xui: c.xui ?? ALICE, path: 'index' }, c.lenient ?? []);
    const usage = usages.get(c.auid)!;
    const inline = await settle((async () => {
      if (c.prescan === true) prescanDocument(c.text, LIMITS);
      await usage.validate(lazyCandidate(c.text), ctx);
    })());
    const threaded = await settle(pool.validate(c.auid, c.text, ctx, c.prescan === true ? LIMITS : undefined));
    expect(inline === undefined ? 'valid' : (inline as XcapConflict).tag).toBe(c.expect);
    expect(outcome(threaded)).toEqual(outcome(inline));
    if (inline instanceof UniquenessFailure) expect((threaded as UniquenessFailure).fields).toEqual(inline.fields);
  });

  it('many jobs at once on two threads each get their own answer', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? rl(`<list name="a"><entry uri="sip:${i}@x"/><entry uri="sip:${i}@x"/></list>`) : rl(`<list name="n${i}"/>`)));
    const ctx = context(store, { auid: 'resource-lists', xui: ALICE, path: 'index' });
    const answers = await Promise.all(texts.map((t) => settle(pool.validate('resource-lists', t, ctx))));
    answers.forEach((a, i) => {
      if (i % 3 === 0) expect((a as UniquenessFailure).fields[0]?.altValues?.[0]).toBe(`sip:${i}-1@x`);
      else expect(a).toBeUndefined();
    });
  });

  it('takes only text-only candidates of at least minChars', async () => {
    const small = new ValidationPool({ threads: 1, minChars: 100, registry: {} });
    try {
      expect(small.takes(lazyCandidate('x'.repeat(99)))).toBe(false);
      expect(small.takes(lazyCandidate('x'.repeat(100)))).toBe(true);
      const parsed = lazyCandidate(rl('<list name="a"/>'.repeat(10)));
      expect(small.takes({ ...parsed, parsed: parsed.dom() })).toBe(false);
    } finally {
      await small.close();
    }
  });
});

describe('a validation thread that dies', () => {
  it('fails only the job it ran (InternalError), and the next job gets a fresh thread', async () => {
    // A heap too small for the DOM the uniqueness walk builds of this document.
    const pool = new ValidationPool({ threads: 1, minChars: 0, registry: {}, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const store = await openStore();
    try {
      const ctx = context(store, { auid: 'resource-lists', xui: ALICE, path: 'index' });
      const huge = rl(`<list name="a">${'<entry uri="sip:a@x"/>'.repeat(300_000)}</list>`);
      const small = rl('<list name="a"><entry uri="sip:a@x"/><entry uri="sip:a@x"/></list>');
      const [crashed, queued] = await Promise.all([settle(pool.validate('resource-lists', huge, ctx)), settle(pool.validate('resource-lists', small, ctx))]);
      expect(crashed).toBeInstanceOf(InternalError);
      expect((crashed as Error).message).toMatch(/validation thread stopped while validating a \d+-character resource-lists document/);
      expect(queued).toBeInstanceOf(UniquenessFailure);
      expect(await settle(pool.validate('resource-lists', rl('<list name="b"/>'), ctx))).toBeUndefined();
    } finally {
      await pool.close();
      await store.close();
    }
  });
});

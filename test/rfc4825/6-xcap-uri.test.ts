import { describe, expect, it } from 'vitest';
import { BadRequest, NotFound } from '../../src/xcap/errors.ts';
import { canonicalXui, encodeSelector, parseXcapUri } from '../../src/xcap/uri.ts';

const opts = { root: '/xcap-root' };
const parse = (u: string, o: { root: string; defaultDomain?: string } = opts) => parseXcapUri(u, o);

describe('RFC 4825 §6.1–§6.2 document selector', () => {
  it('splits root, auid, users tree, XUI and document', () => {
    expect(parse('/xcap-root/resource-lists/users/sip:alice@example.com/index')).toEqual({
      rootPath: '/xcap-root',
      auid: 'resource-lists',
      xui: 'sip:alice@example.com',
      docPath: 'index',
      selector: null,
      namespaces: {},
      documentUri: '/xcap-root/resource-lists/users/sip:alice@example.com/index',
    });
  });

  it('reads the global tree with a nested document path', () => {
    const u = parse('/xcap-root/xcap-caps/global/dir/index.xml');
    expect(u.xui).toBeNull();
    expect(u.docPath).toBe('dir/index.xml');
    expect(u.documentUri).toBe('/xcap-root/xcap-caps/global/dir/index.xml');
  });

  it('decodes a percent-encoded XUI and re-encodes only what pchar needs', () => {
    const u = parse('/xcap-root/resource-lists/users/sip%3Aalice%40example.com/my%20list');
    expect(u.xui).toBe('sip:alice@example.com');
    expect(u.docPath).toBe('my list');
    expect(u.documentUri).toBe('/xcap-root/resource-lists/users/sip:alice@example.com/my%20list');
  });

  it('works under a multi-segment root and tolerates a trailing slash in the configured root', () => {
    expect(parse('/a/b/resource-lists/global/index', { root: '/a/b/' }).auid).toBe('resource-lists');
  });

  it('answers 404 outside the root or for an unknown tree', () => {
    expect(() => parse('/other/resource-lists/global/index')).toThrow(NotFound);
    expect(() => parse('/xcap-rootx/resource-lists/global/index')).toThrow(NotFound);
    expect(() => parse('/xcap-root/resource-lists/people/alice/index')).toThrow(NotFound);
  });

  it.each([
    ['/xcap-root', 'no auid'],
    ['/xcap-root/', 'empty auid'],
    ['/xcap-root/resource-lists', 'no tree'],
    ['/xcap-root/resource-lists/global', 'no document'],
    ['/xcap-root/resource-lists/global/', 'empty document'],
    ['/xcap-root/resource-lists/users/', 'empty XUI'],
    ['/xcap-root/resource-lists/users/sip:a@b.c', 'no document under the XUI'],
    ['/xcap-root/resource-lists/global/a//b', 'empty segment'],
    ['/xcap-root/resource-lists/global/../x', 'dot-dot segment'],
    ['/xcap-root/resource-lists/global/./x', 'dot segment'],
    ['/xcap-root/resource-lists/global/a%2Fb', 'encoded slash'],
    ['/xcap-root/resource-lists/global/a%zz', 'bad percent-encoding'],
    ['/xcap-root/resource-lists/global/a%C3', 'truncated UTF-8'],
    ['/xcap-root/resource-lists/global/a%00b', 'NUL byte'],
    ['/xcap-root/resource-lists/users/alice/index', 'XUI without a domain and no default'],
  ])('refuses %s (%s) with 400', (u) => {
    expect(() => parse(u)).toThrow(BadRequest);
  });
});

describe('RFC 4825 §4 XUI canonical form', () => {
  it.each([
    ['alice@example.com', undefined, 'sip:alice@example.com'],
    ['sip:alice@example.com', undefined, 'sip:alice@example.com'],
    ['SIP:alice@EXAMPLE.com', undefined, 'sip:alice@example.com'],
    ['sips:Alice@example.com', undefined, 'sips:Alice@example.com'],
    ['tel:+123', undefined, 'tel:+123'],
    ['alice', 'example.com', 'sip:alice@example.com'],
    ['sip:alice', 'example.com', 'sip:alice@example.com'],
  ])('%s (domain %s) → %s', (xui, domain, want) => {
    expect(canonicalXui(xui, domain)).toBe(want);
  });

  it('gives a bare user the default domain', () => {
    expect(parse('/xcap-root/resource-lists/users/alice/index', { root: '/xcap-root', defaultDomain: 'example.org' }).xui).toBe(
      'sip:alice@example.org',
    );
  });
});

describe('realm suffix on the root (eyeBeam/Bria)', () => {
  it('keeps the suffix in rootPath and gives the realm to a bare user', () => {
    const u = parse('/xcap-root@example.com/resource-lists/users/alice/index', {
      root: '/xcap-root',
      defaultDomain: 'other.org',
    });
    expect(u.rootPath).toBe('/xcap-root@example.com');
    expect(u.xui).toBe('sip:alice@example.com');
    expect(u.documentUri).toBe('/xcap-root@example.com/resource-lists/users/sip:alice@example.com/index');
  });

  it('leaves an XUI that has a domain alone', () => {
    expect(parse('/xcap-root@example.com/resource-lists/users/bob@b.org/index').xui).toBe('sip:bob@b.org');
  });

  it('refuses an empty realm', () => {
    expect(() => parse('/xcap-root@/resource-lists/users/alice/index')).toThrow(BadRequest);
  });
});

describe('RFC 4825 §6 node selector separator and §6.4 xmlns() query', () => {
  const base = '/xcap-root/resource-lists/users/sip:alice@example.com/index';

  it('takes the decoded selector after the ~~ segment', () => {
    const u = parse(`${base}/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B1%5D`);
    expect(u.docPath).toBe('index');
    expect(u.selector).toBe('resource-lists/list[@name="friends"]/entry[1]');
  });

  it('accepts the raw form the same (python3-xcaplib)', () => {
    expect(parse(`${base}/~~/resource-lists/list[@name="friends"]/entry[1]`).selector).toBe(
      'resource-lists/list[@name="friends"]/entry[1]',
    );
  });

  it('accepts steps right after ~~ and an extra leading slash', () => {
    expect(parse(`${base}/~~resource-lists/list`).selector).toBe('resource-lists/list');
    expect(parse(`${base}/~~//resource-lists/list`).selector).toBe('resource-lists/list');
    expect(parse(`${base}/%7E%7E/resource-lists`).selector).toBe('resource-lists');
  });

  it('keeps a / and a ? inside a quoted predicate value', () => {
    const u = parse(`${base}/~~/resource-lists/list/entry[@uri="sip:a/b?c"]?xmlns(p=urn:x)`);
    expect(u.selector).toBe('resource-lists/list/entry[@uri="sip:a/b?c"]');
    expect(u.namespaces).toEqual({ p: 'urn:x' });
  });

  it('reads a %3F-encoded query with a quoted namespace (Doubango)', () => {
    const u = parse(`${base}/~~/resource-lists/list%5B@name=%22a%22%5D%3Fxmlns(p=%22urn:x%22)`);
    expect(u.selector).toBe('resource-lists/list[@name="a"]');
    expect(u.namespaces).toEqual({ p: 'urn:x' });
  });

  it('reads several xmlns() parts, ^-escapes, & separators and single quotes', () => {
    const u = parse(`${base}/~~/a?xmlns(p=urn:x)xmlns(q='urn:y^)')&xmlns(r=urn:z^^)`);
    expect(u.namespaces).toEqual({ p: 'urn:x', q: 'urn:y)', r: 'urn:z^' });
  });

  it('reads a query on a document URI too', () => {
    expect(parse(`${base}?xmlns(p=urn%3Ax)`).namespaces).toEqual({ p: 'urn:x' });
  });

  it.each([
    [`${base}/~~`, 'empty selector'],
    [`${base}/~~/`, 'empty selector after slash'],
    [`${base}/~~/a?foo=bar`, 'not an xmlns() part'],
    [`${base}/~~/a?xmlns(p)`, 'no ='],
    [`${base}/~~/a?xmlns(1p=urn:x)`, 'prefix not an NCName'],
    [`${base}/~~/a?xmlns(p=urn:x`, 'unterminated'],
    [`${base}/~~/a?xmlns(p=)`, 'empty namespace'],
    [`${base}/~~/a?xmlns(p=a^b)`, 'bad escape'],
    [`${base}/~~/a%ZZ`, 'bad percent-encoding in the selector'],
    [`${base}/~~/a%00`, 'NUL in the selector'],
  ])('refuses %s (%s) with 400', (u) => {
    expect(() => parse(u)).toThrow(BadRequest);
  });

  it('encodes selectors so that they parse back, / inside values included', () => {
    const text = 'resource-lists/list[@name="a/b?c"]/entry[2][@uri=\'x"y\']/@cp:id';
    const enc = encodeSelector(text);
    expect(enc).not.toMatch(/[[\]"?]/);
    expect(enc.split('/')).toHaveLength(4);
    expect(parse(`${base}/~~/${enc}`).selector).toBe(text);
  });
});

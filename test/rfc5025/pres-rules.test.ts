import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presRules } from '../../src/appusage/pres-rules/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { SchemaValidationError, UniquenessFailure } from '../../src/xcap/errors.ts';
import { ALICE, context, fixture, openStore, rejection, validate } from '../appusage/context.ts';

const KEY = { auid: 'pres-rules', xui: ALICE, path: 'index' };
let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

const example = fixture('rfc5025-pres-rules.xml');
const check = (text: string) => validate(presRules, text, context(store, KEY));

describe('RFC 5025 §9 pres-rules usage', () => {
  it('validates the RFC 5025 example (§6)', async () => {
    await expect(check(example)).resolves.toBeUndefined();
  });

  it('uses application/auth-policy+xml with pres-rules (not common-policy) as default namespace', () => {
    expect(presRules.mimeType).toBe('application/auth-policy+xml');
    expect(presRules.defaultNamespace).toBe('urn:ietf:params:xml:ns:pres-rules');
  });

  it('rejects a sub-handling value RFC 5025 §4 does not define', async () => {
    expect(await rejection(check(example.replace('>allow<', '>maybe<')))).toBeInstanceOf(SchemaValidationError);
  });

  it('rejects a rule without id (RFC 4745 schema)', async () => {
    expect(await rejection(check(example.replace('<cr:rule id="a">', '<cr:rule>')))).toBeInstanceOf(SchemaValidationError);
  });

  it('accepts unknown extension elements in actions and transformations', async () => {
    const text = example.replace('<cr:actions>', '<cr:actions><x:vendor xmlns:x="urn:x">1</x:vendor>');
    await expect(check(text)).resolves.toBeUndefined();
  });

  it('maps the document names clients use to one document', () => {
    for (const name of ['index', 'presrules', 'pres-rules', 'index.xml']) expect(presRules.canonicalPath?.(name)).toBe('index');
    expect(presRules.canonicalPath?.('other')).toBe('other');
  });
});

describe('RFC 4745 §7 rule ids are unique', () => {
  it('raises uniqueness-failure with a free id, the field selecting under the pres-rules default namespace', async () => {
    const rule = example.slice(example.indexOf('<cr:rule id="a">'), example.indexOf('</cr:ruleset>'));
    const text = example.replace('</cr:ruleset>', `${rule}${rule.replace('id="a"', 'id="a-1"')}</cr:ruleset>`);
    const err = (await rejection(check(text))) as UniquenessFailure;
    expect(err).toBeInstanceOf(UniquenessFailure);
    expect(err.fields).toEqual([{ field: '*/*[2]/@id', altValues: ['a-2', 'a-3'] }]);
  });
});

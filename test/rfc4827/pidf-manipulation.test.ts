import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidfManipulation } from '../../src/appusage/pidf-manipulation/index.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { SchemaValidationError } from '../../src/xcap/errors.ts';
import { ALICE, context, fixture, openStore, rejection, validate } from '../appusage/context.ts';

const KEY = { auid: 'pidf-manipulation', xui: ALICE, path: 'index' };
let store: DocumentStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

const example = fixture('rfc4827-pidf.xml');
const check = (text: string) => validate(pidfManipulation, text, context(store, KEY));

describe('RFC 4827 pidf-manipulation usage', () => {
  it('validates a PIDF document with RPID and data-model extensions', async () => {
    await expect(check(example)).resolves.toBeUndefined();
    expect(pidfManipulation.mimeType).toBe('application/pidf+xml');
  });

  it('rejects a basic status other than open/closed (RFC 3863)', async () => {
    expect(await rejection(check(example.replace('>open<', '>busy<')))).toBeInstanceOf(SchemaValidationError);
  });

  it('rejects a presence without entity and a tuple without status', async () => {
    expect(await rejection(check(example.replace(' entity="sip:someone@example.com"', '')))).toBeInstanceOf(
      SchemaValidationError,
    );
    const noStatus = example.replace(/<status>[\s\S]*?<\/status>/, '');
    expect(await rejection(check(noStatus))).toBeInstanceOf(SchemaValidationError);
  });

  it('rejects a contact priority above 1', async () => {
    expect(await rejection(check(example.replace('priority="0.8"', 'priority="1.5"')))).toBeInstanceOf(SchemaValidationError);
  });
});

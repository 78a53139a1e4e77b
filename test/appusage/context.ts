/** Test helpers for usages: a real in-memory SQLite store and the context the XCAP core would pass. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocKey, DocumentStore } from '../../src/store/types.ts';
import type { AppUsage, UsageContext } from '../../src/appusage/types.ts';
import { LocalRoots } from '../../src/xcap/local-roots.ts';
import { parseDocument } from '../../src/xcap/xml.ts';

export const ALICE = 'sip:alice@example.com';

export function openStore(): Promise<DocumentStore> {
  return openSqliteStore(':memory:');
}

export function fixture(name: string): string {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', 'appusage', name), 'utf8');
}

/** `roots`: the absolute XCAP roots naming this server (rls-services `<resource-list>`). */
export function context(store: DocumentStore, key: DocKey, lenient: readonly string[] = [], roots: readonly string[] = ['http://xcap.example.com/xcap-root']): UsageContext {
  return { key, store, lenient: new Set(lenient), rootUri: '/xcap-root', roots: new LocalRoots(roots) };
}

/** Runs `usage.validate` as the core does on a PUT of the whole document `text`. */
export async function validate(usage: AppUsage, text: string, ctx: UsageContext): Promise<void> {
  let dom: ReturnType<typeof parseDocument> | undefined;
  await usage.validate({ text, dom: () => (dom ??= parseDocument(text)) }, ctx);
}

/** Resolves with what `p` rejected with (fails the test if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The outcome of a validation: passed, or the error's class and phrase (for differential tests). */
export async function outcome(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'valid';
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

/**
 * The connector seam (docs/connectors.md): the sync engine, the XCAP core and the
 * application usages know connectors only through connectors/types.ts, errors.ts and
 * kind.ts; connector kinds and their backend libraries enter the program through the
 * registry list in src/connectors.ts alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CORE = ['src/sync', 'src/xcap', 'src/appusage'];
/** Libraries that belong to one connector's folder (today's and the planned ones). */
const BACKENDS = ['ldapts', 'libphonenumber-js', 'ical.js', 'tsdav', 'mysql2', 'kysely'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  return [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

describe('connector seam', () => {
  it('the core imports no connector kind and no backend library', () => {
    const offending: string[] = [];
    for (const file of CORE.flatMap(sources)) {
      for (const spec of imports(file)) {
        const kindFolder = /\/connectors\/(?!(types|errors|kind)\.ts$)/.test(spec);
        if (kindFolder || BACKENDS.some((b) => spec === b || spec.startsWith(`${b}/`))) offending.push(`${file}: ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('connector kinds are listed in src/connectors.ts only, not registered anywhere else in src/', () => {
    const listing = sources('src').filter((f) => imports(f).some((s) => /\/connectors\/[^/]+\/(index|kind)\.ts$/.test(s)));
    expect(listing).toEqual(['src/connectors.ts']);
  });
});

/**
 * docs/troubleshooting.md keeps up with the code: every status and xcap-error condition the
 * XCAP path can raise, every refusal and staleness reason sync shows, every configuration
 * error with a fixed text and every start-up warning are read from the sources and must be
 * in the matching section of the page. (The metrics part is checked against a real scrape in
 * test/http/readyz-metrics.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const source = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const doc = source('docs/troubleshooting.md');

/** The text of the section under `heading` (to the next heading of the same or a higher level). */
function section(heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start, `section "${heading}"`).toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Cells in the first column of a section's tables. */
const firstColumn = (text: string) => [...text.matchAll(/^\| (.+?) \|/gm)].map((m) => m[1]!);

/** A message as written in the source (a '...' string or a `...` template) as a pattern: each ${...} matches any text. */
function messagePattern(literal: string): RegExp {
  const body = literal.slice(1, -1).replace(/\\'/g, "'");
  const parts = body.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('.+?'));
}

describe('docs/troubleshooting.md', () => {
  it('has a row for every HTTP status the XCAP path raises', () => {
    const statuses = new Set<string>();
    for (const m of source('src/xcap/errors.ts').matchAll(/super\((\d{3})\b/g)) statuses.add(m[1]!);
    for (const f of ['src/http/error-handler.ts', 'src/http/xcap-handler.ts', 'src/xcap/service.ts']) {
      for (const m of source(f).matchAll(/new HttpError\((\d{3})\b/g)) statuses.add(m[1]!);
    }
    // Answers that are not errors but not a success either (a poll's 304) are written directly.
    for (const m of source('src/http/xcap-handler.ts').matchAll(/writeHead\(([3-5]\d\d)\b/g)) statuses.add(m[1]!);
    // What the issue asks for, so a parse that finds nothing cannot pass.
    expect([...statuses]).toEqual(expect.arrayContaining(['304', '401', '403', '404', '405', '409', '412', '413', '415', '503']));
    const rows = firstColumn(section('### Status codes'));
    expect([...statuses].filter((s) => !rows.includes(`\`${s}\``))).toEqual([]);
  });

  it('has a row for every xcap-error condition element', () => {
    const tags = [...source('src/xcap/errors.ts').matchAll(/readonly tag = '([a-z0-9-]+)'/g)].map((m) => m[1]!);
    expect(tags.length).toBeGreaterThanOrEqual(10);
    const rows = firstColumn(section('### 409 conditions'));
    expect(tags.filter((t) => !rows.includes(`\`${t}\``))).toEqual([]);
  });

  it('shows every mass-delete refusal and every binding staleness reason as sync reports them', () => {
    const text = section('## Sync: what `sync status`, /readyz and the status page show');
    const refusals = [...source('src/sync/reconcile.ts').matchAll(/return (`refused:[^`]*`)/g)].map((m) => m[1]!);
    const reasons = [...source('src/sync/health.ts').matchAll(/reason = (`[^`]*`|'[^']*')/g)].map((m) => m[1]!);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(reasons.length).toBeGreaterThanOrEqual(3);
    expect([...refusals, ...reasons].filter((r) => !messagePattern(r).test(text))).toEqual([]);
  });

  it('explains every configuration error with a fixed text', () => {
    const text = section('## Configuration errors at start-up');
    const messages = [...source('src/config/load.ts').matchAll(/new ConfigError\((`[^`]*`)\)/g)].map((m) => m[1]!);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.filter((m) => !messagePattern(m).test(text))).toEqual([]);
  });

  it('explains every error line of the sync command', () => {
    const text = section('## Command-line errors');
    const messages = [...source('src/cli/sync.ts').matchAll(/(`sync [a-z ${}]*:[^`]*`|'sync [a-z ]+:[^']*')/g)].map((m) => m[1]!.replace(/\\n/g, ''));
    expect(messages.length).toBeGreaterThanOrEqual(5);
    // In a table cell a | is written \|.
    const cells = text.replace(/\\\|/g, '|');
    expect(messages.filter((m) => !messagePattern(m).test(cells))).toEqual([]);
  });

  it('lists every start-up warning: each unsafe setting and the warnings logged when Redis or the user source is reached', () => {
    const text = section('## Start-up warnings');
    const warnings = source('src/config/warnings.ts');
    const keys = [...warnings.matchAll(/key: '([^']+)'/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(keys.filter((k) => !firstColumn(text).includes(`\`${k}\``))).toEqual([]);
    // Each message up to its first colon (what the operator reads first) is quoted.
    const messages = [...warnings.matchAll(/message: ('[^']*'|`[^`]*`)/g)].map((m) => m[1]!);
    expect(messages).toHaveLength(keys.length);
    const heads = messages.map((m) => `${m.slice(0, m.search(/: /))}${m[0]}`);
    expect(heads.filter((h) => !messagePattern(h).test(text))).toEqual([]);
    const logged = [
      ['src/sync/queue.ts', /log\.warn\(\{ setting: '[^']+', policy \}, ('[^']*')\)/],
      ['src/auth/index.ts', /log\.warn\(\{ realm: cfg\.realm \}, ('(?:[^'\\]|\\')*')\)/],
    ] as const;
    for (const [file, pattern] of logged) {
      const m = pattern.exec(source(file));
      expect(m, `the warning in ${file}`).not.toBeNull();
      expect(messagePattern(m![1]!).test(text), m![1]).toBe(true);
    }
  });
});

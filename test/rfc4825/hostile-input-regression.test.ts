/**
 * Fixed-workload guards against hostile URIs, selectors and bodies: entity expansion
 * (CWE-776, https://cwe.mitre.org/data/definitions/776.html), external entities (CWE-611,
 * https://cwe.mitre.org/data/definitions/611.html) and super-linear parsing (CWE-1333 /
 * CWE-407, https://cwe.mitre.org/data/definitions/407.html).
 *
 * The inputs run once in a child process with a 128 MB heap: an expanding or quadratic
 * path crashes it (an entity expansion needs GBs) or hits the time limit, and each input
 * must end in the typed error a client would get. No timing assertion. The linear cases
 * peak near 60 MB, and a GC starved of CPU on a loaded machine needs room above that.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('RFC 4825 core: hostile input', () => {
  it('refuses every hostile input with its typed error, under a small heap', () => {
    const child = fileURLToPath(new URL('./hostile-input.child.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--max-old-space-size=128', '--stack-size=984', child], {
      encoding: 'utf8',
      // A safety net, not a measurement: linear work takes ~10 s of CPU here, and the
      // quadratic paths these inputs guard against took minutes. Generous for loaded CI.
      timeout: 150_000,
    });
    const results = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.lastIndexOf(': ')), l.slice(l.lastIndexOf(': ') + 2)]),
    );
    expect(results).toEqual({
      'selector: 100k [': 'BadRequest',
      'selector: 100k [@': 'BadRequest',
      'selector: 100k [1': 'BadRequest',
      'selector: 100k quotes': 'BadRequest',
      'selector: 100k & in a value': 'BadRequest',
      'selector: 100k = in a test': 'BadRequest',
      'uri: 100k %5B': 'ok',
      'uri: 100k xmlns(': 'BadRequest',
      'uri: 100k segments': 'BadRequest',
      'evaluate: 5000 steps on a 5000-deep document': 'none',
      'evaluate: 50k wildcard steps': 'none',
      'document: billion laughs': 'NotWellFormed',
      'fragment: billion laughs': 'NotXmlFrag',
      'document: 20k unclosed tags': 'NotWellFormed',
      'libxml2: 70k sibling errors': 'SchemaValidationError',
      'prescan: 100k attributes on one element': 'ConstraintFailure',
      'prescan: 100k namespace declarations': 'ConstraintFailure',
      'prescan: 100k-deep element body': 'ConstraintFailure',
      'prescan: 100k character references': 'ok',
      'prescan: lone surrogate reference after 100k good ones': 'NotWellFormed',
      'fast path: 100k attributes on one element': 'reject',
      'fast path: 100k namespace declarations': 'accept',
      'fast path: 100k-deep document': 'unsure',
      'fast path: 100k duplicate siblings': 'reject',
      'usage: 100k duplicate siblings, the repeat named': 'UniquenessFailure',
      'fast path: 1M-character name': 'unsure',
      'fast path: 1M characters of text': 'accept',
      'DOM walk: 50k attributes on one element': 'reject',
      'DOM walk: 50k namespace declarations': 'accept',
      'libxml2: 100k-character name': 'NotWellFormed',
      'evaluate: 10k siblings, attribute test': 'none',
      'evaluate: 10k siblings, last position': 'entry',
    });
  }, 180_000);
});

/**
 * String.prototype keeps V8's fast property layout in a process started by the CLI once
 * `serve`'s modules are loaded (src/fast-string-prototype.ts). ioredis defines a String
 * subclass, which left it in dictionary mode and made every string method call in the XML
 * scanner take V8's generic lookup (whole-document PUTs cost ~30% more CPU). Checked with
 * V8's own %HasFastProperties, so no timing is involved.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
/** Loaded before the CLI: reports String.prototype's layout when the process exits. */
const REPORT_AT_EXIT = `data:text/javascript,${encodeURIComponent(
  "const fast = new Function('p', 'return %HasFastProperties(p)'); process.on('exit', () => process.stderr.write('fast:' + fast(String.prototype) + '\\n'));",
)}`;

/** 'true' when String.prototype has fast properties as `script` exits. */
function layoutAfter(script: string, args: string[]): string {
  const { stderr } = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', REPORT_AT_EXIT, script, ...args], { cwd: ROOT, encoding: 'utf8' });
  return /fast:(\w+)/.exec(stderr)?.[1] ?? `no report in: ${stderr}`;
}

describe('String.prototype in a CLI process', () => {
  it('keeps fast properties after serve and its libraries (ioredis) are loaded', () => {
    // A bad --port ends serve once its modules are loaded, before it opens anything.
    expect(layoutAfter(join(ROOT, 'bin', 'xcap-bridge.js'), ['serve', '--port', 'none'])).toBe('true');
  });
});

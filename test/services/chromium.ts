/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser): headless, a
 * fresh profile in a temp dir, the flags that keep it off the network (without the
 * background-networking ones it waits on this closed network), and `setpriv --pdeathsig`
 * between playwright and the browser so it dies with the test runner.
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './process.ts';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  readonly context: BrowserContext;
  stop(): Promise<void>;
}

/** A browser context that answers HTTP authentication challenges with `credentials`. */
export async function startChromium(credentials: { username: string; password: string }): Promise<Browser> {
  const dir = tempDir('chromium');
  const launcher = join(dir, 'chromium.sh');
  writeFileSync(launcher, `#!/bin/sh\nexec setpriv --pdeathsig SIGKILL ${CHROMIUM} "$@"\n`);
  chmodSync(launcher, 0o755);
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: launcher,
    headless: true,
    args: FLAGS,
    httpCredentials: credentials,
    timeout: 120_000,
  });
  return {
    context,
    async stop() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

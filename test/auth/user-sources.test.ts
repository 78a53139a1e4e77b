/** The user source contract (test/conformance/user-source.suite.ts) for the local user table and htdigest files. */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HtdigestUsers } from '../../src/auth/htdigest.ts';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { userSourceContract } from '../conformance/user-source.suite.ts';

userSourceContract('local user table', { loginForms: ['user', 'user@domain'] }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcapb-users-'));
  const store = await openSqliteStore(join(dir, 'xcap.sqlite'));
  const users = await LocalUsers.open(store.sql);
  return {
    source: users,
    add: (xui, password) => users.add(xui, password),
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

userSourceContract('htdigest file', { loginForms: ['user', 'user@domain'] }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcapb-htdigest-'));
  const file = join(dir, 'users');
  writeFileSync(file, '');
  const source = await HtdigestUsers.open(file, { checkIntervalMs: 0 });
  const line = (user: string, realm: string, pw: string) => `${user}:${realm}:${createHash('md5').update(`${user}:${realm}:${pw}`).digest('hex')}\n`;
  return {
    source,
    async add(xui, password) {
      const bare = xui.replace(/^sip:/, '');
      const at = bare.lastIndexOf('@');
      const domain = bare.slice(at + 1);
      // As `htdigest` writes them: one line per login form.
      appendFileSync(file, line(bare.slice(0, at), domain, password) + line(bare, domain, password));
      // The file's mtime may not move within one clock tick: change its size is enough (size is compared too).
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

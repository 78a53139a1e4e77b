/**
 * docs/directory-to-phones.md, step by step, the way a new user runs it: every step is a
 * child process (the demo slapd from deploy/demo-directory/slapd.sh loaded with ldapadd,
 * `check-config`, `user add`, `serve` and `sync run` with deploy/xcap-bridge.example.yaml as
 * it is, parametrized only through the environment variables it documents), and the
 * phones are curl and Python's urllib. What is checked is what that user sees: the
 * directory on three phones that never wrote a document, an LDAP edit and delete after a
 * tick, the phone's own list and the directory's LDAP entries left alone, and a bad first
 * run put right by fixing the config and restarting. On a single Redis (`REDIS_URL`) and on a
 * Redis Cluster (`XCAP_BRIDGE_REDIS_CLUSTER`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RL_NS, RL_TYPE } from '../http/helpers.ts';
import { addUser, startServe, tempData, type ServeProcess } from '../http/serve-process.ts';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from '../services/process.ts';
import { until } from './sync-helpers.ts';
import { describeEachRedis, redisEnvironment } from '../helpers/redis-variants.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'bin/xcap-bridge.js');
const EXAMPLE = resolve(ROOT, 'deploy/xcap-bridge.example.yaml');
const SLAPD = resolve(ROOT, 'deploy/demo-directory/slapd.sh');
const PEOPLE = resolve(ROOT, 'deploy/demo-directory/people.ldif');
const ADMIN_DN = 'cn=admin,dc=example,dc=com';
const PEOPLE_DN = 'ou=people,dc=example,dc=com';
const FIELDS_NS = 'urn:xcap-bridge:params:xml:ns:fields';
const PASSWORD = 'demo-secret';
const PHONES = ['alice', 'bob', 'carol'] as const;

type Entry = Record<string, string>;

/** The people of the demo LDIF as the example maps them: uri, display-name, mail, title. */
function demoPeople(domain: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const block of readFileSync(PEOPLE, 'utf8').split(/\n\s*\n/)) {
    const attr = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1];
    const uid = attr('uid');
    if (uid === undefined) continue;
    const uri = `sip:${uid}@${domain}`;
    out.set(uri, { uri, 'display-name': attr('displayName') ?? '', mail: attr('mail') ?? '', title: attr('title') ?? '' });
  }
  return out;
}

/** Entries of the top-level list `name` by uri, every `<xbf:field>` included; undefined when the list is missing. */
function listOf(body: string, name: string): Map<string, Entry> | undefined {
  const root = new DOMParser().parseFromString(body, 'text/xml').documentElement as Element;
  const list = kids(root, RL_NS, 'list').find((l) => l.getAttribute('name') === name);
  if (!list) return undefined;
  const out = new Map<string, Entry>();
  for (const e of kids(list, RL_NS, 'entry')) {
    const entry: Entry = { uri: e.getAttribute('uri') ?? '' };
    const dn = kids(e, RL_NS, 'display-name')[0]?.textContent;
    if (dn) entry['display-name'] = dn;
    for (const f of kids(e, FIELDS_NS, 'field')) entry[f.getAttribute('name') ?? ''] = f.textContent ?? '';
    out.set(entry.uri as string, entry);
  }
  return out;
}

function kids(el: Element, ns: string, local: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local);
}

const URLLIB_GET = `
import sys, urllib.request, urllib.error
url, user, password = sys.argv[1:4]
auth = urllib.request.HTTPPasswordMgrWithDefaultRealm()
auth.add_password(None, url, user, password)
opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(auth))
try:
    with opener.open(url) as r:
        sys.stdout.write(f"{r.status}\\n{r.read().decode()}")
except urllib.error.HTTPError as e:
    sys.stdout.write(f"{e.code}\\n")
`;

// Every step starts processes (CLI commands, serve, curl, python3) on a shared machine.
describeEachRedis((redis) => {
  describe('docs/directory-to-phones.md as child processes: demo slapd, the example config, three phones', { timeout: 120_000 }, () => {
    let ldapUrl = '';
    let ldapDir = '';
    let stopSlapd: () => Promise<void> = async () => {};
    const store = tempData();
    let server: ServeProcess | undefined;
    /** The example's environment: the demo directory's URL and password, a short tick, the Redis. */
    let env: Record<string, string> = {};

    const ldap = (tool: string, args: string[], input?: string) => {
      const child = run(tool, ['-x', '-H', ldapUrl, '-D', ADMIN_DN, '-w', PASSWORD, ...args]);
      if (input !== undefined) child.child.stdin?.end(input);
      return child;
    };
    /** The people entries as LDIF, operational attributes (entryCSN, modifyTimestamp) included: any write changes it. */
    const snapshot = async () => (await ldap('ldapsearch', ['-LLL', '-b', PEOPLE_DN, '(objectClass=inetOrgPerson)', '*', '+'])).stdout;
    const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...extraEnv } }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
      });
    const serve = (extraEnv: Record<string, string> = {}) =>
      startServe(store, ['--config', EXAMPLE], { ...env, ...extraEnv });
    const indexOf = (phone: string) => `/resource-lists/users/sip:${phone}@example.com/index`;

    /** A phone's GET of its index: curl --digest for alice and carol, urllib for bob. */
    async function phoneGet(phone: (typeof PHONES)[number]): Promise<{ status: number; body: string }> {
      const url = `${server?.url}${indexOf(phone)}`;
      const { stdout } =
        phone === 'bob'
          ? await run('python3', ['-c', URLLIB_GET, url, phone, `${phone}-secret`])
          : await run('curl', ['-s', '--digest', '-u', `${phone}:${phone}-secret`, '-w', '\n%{http_code}', url]);
      if (phone === 'bob') {
        const nl = stdout.indexOf('\n');
        return { status: Number(stdout.slice(0, nl)), body: stdout.slice(nl + 1) };
      }
      const nl = stdout.lastIndexOf('\n');
      return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
    }
    /** Every phone's directory once `ok` holds for all of them (or the deadline passed). */
    const directories = (ok: (dir: Map<string, Entry> | undefined) => boolean) =>
      until(
        () =>
          Promise.all(
            PHONES.map(async (p) => {
              const res = await phoneGet(p);
              return res.status === 200 ? listOf(res.body, 'directory') : undefined;
            }),
          ),
        (dirs) => dirs.every(ok),
      );
    /** `sync run` log lines of serve (JSON), after the `from`-th line. */
    const runLines = (from = 0) =>
      (server?.output() ?? '')
        .split('\n')
        .slice(from)
        .flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : []))
        .filter((l) => l.msg === 'sync run');
    const lineCount = () => (server?.output() ?? '').split('\n').length - 1;

    beforeAll(async () => {
      // Step 2 of the walkthrough: the demo directory, started and loaded as the docs say.
      const port = await freePort();
      ldapUrl = `ldap://127.0.0.1:${port}`;
      ldapDir = tempDir('demo-ldap');
      const { child, output } = spawnService('env', [`LDAP_PORT=${port}`, `LDAP_PASSWORD=${PASSWORD}`, SLAPD, `${ldapDir}/data`]);
      stopSlapd = () => stopChild(child, ldapDir);
      await waitForPort(port, child, output);
      await ldap('ldapadd', ['-f', PEOPLE]);
      env = { LDAP_URL: ldapUrl, LDAP_PASSWORD: PASSWORD, SYNC_EVERY_MS: '1000', LDAP_DELETE_SCAN_MS: '0', ...redisEnvironment(await redis.target()) };
    });
    afterAll(async () => {
      if (server) expect(await server.stop()).toBe(0);
      store.remove();
      await stopSlapd();
    });

    it('check-config names what is missing (the bind password variable), then accepts the example unchanged', async () => {
      const { LDAP_PASSWORD: _, ...withoutPassword } = env;
      const missing = await cli(['check-config', '--config', EXAMPLE], withoutPassword);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/connectors\.corp\.bindPasswordEnv: .*LDAP_PASSWORD/);
      const ok = await cli(['check-config', '--config', EXAMPLE], env);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`binding corp-directory: resource-lists/users/*/index list "directory" <- corp (ldap) "${PEOPLE_DN}"`);
    });

    it('three users added with `user add`, `serve` started: each phone GETs its index and finds the directory (no phone wrote a document)', async () => {
      for (const p of PHONES) await addUser(store, `sip:${p}@example.com`, `${p}-secret`, false, ['--config', EXAMPLE]);
      server = await serve();
      const want = demoPeople('example.com');
      const dirs = await directories((d) => d?.size === want.size);
      for (const dir of dirs) expect(dir).toEqual(want);
      // The log says what each tick did, per user's document.
      const first = await until(() => runLines().filter((l) => l.outcome === 'applied'), (lines) => lines.length >= PHONES.length);
      expect(new Set(first.map((l) => l.scope))).toEqual(new Set(PHONES.map((p) => `sip:${p}@example.com`)));
      expect(first.every((l) => (l.xcap as { create: number }).create === want.size && l.binding === 'corp-directory')).toBe(true);
    });

    it('a phone\'s own list is its own: a whole-document PUT with its list and an edited directory keeps the list and not the edit', async () => {
      const { body } = await phoneGet('alice');
      const own = `<list name="family"><entry uri="sip:mum@example.org"><display-name>Mum</display-name></entry></list>`;
      const edited = body.replace('>Engineer<', '>Astronaut<').replace(/(<resource-lists[^>]*>)/, `$1${own}`);
      expect(edited).toContain('Astronaut');
      const before = await snapshot();
      const { stdout } = await run('curl', [
        '-s', '--digest', '-u', 'alice:alice-secret', '-X', 'PUT', '-H', `Content-Type: ${RL_TYPE}`, '--data-binary', edited, '-o', '/dev/null', '-w', '%{http_code}',
        `${server?.url}${indexOf('alice')}`,
      ]);
      expect(stdout).toBe('200');
      const from = lineCount();
      await until(() => runLines(from).filter((l) => l.scope === 'sip:alice@example.com').length, (n) => n >= 2);
      const after = (await phoneGet('alice')).body;
      expect([...(listOf(after, 'family')?.keys() ?? [])]).toEqual(['sip:mum@example.org']);
      expect(listOf(after, 'directory')).toEqual(demoPeople('example.com'));
      // Pull: the directory's entries in LDAP, unmapped attributes and versions included, are as they were.
      expect(await snapshot()).toBe(before);
    });

    it('an LDAP edit and an LDAP delete reach all three phones after a tick; alice\'s own list and the unmapped attributes stay', async () => {
      const from = lineCount();
      await ldap('ldapmodify', [], `dn: uid=bob,${PEOPLE_DN}\nchangetype: modify\nreplace: title\ntitle: Head of Sales\n`);
      await ldap('ldapdelete', [`uid=erin,${PEOPLE_DN}`]);
      const want = demoPeople('example.com');
      want.delete('sip:erin@example.com');
      want.set('sip:bob@example.com', { ...(want.get('sip:bob@example.com') as Entry), title: 'Head of Sales' });
      const dirs = await directories((d) => d?.get('sip:bob@example.com')?.title === 'Head of Sales' && !d.has('sip:erin@example.com'));
      for (const dir of dirs) expect(dir).toEqual(want);
      expect([...(listOf((await phoneGet('alice')).body, 'family')?.keys() ?? [])]).toEqual(['sip:mum@example.org']);
      // The ticks that carried them: one update and one delete per user's document. A run logs
      // after its document is committed, so a phone can see the change before the line is out.
      const touched = (l: Record<string, unknown>) => l.xcap as { update: number; delete: number };
      const sums = () => {
        const carried = runLines(from).filter((l) => l.outcome === 'applied');
        return { update: carried.reduce((n, l) => n + touched(l).update, 0), delete: carried.reduce((n, l) => n + touched(l).delete, 0) };
      };
      const logged = await until(sums, (s) => s.update >= PHONES.length && s.delete >= PHONES.length);
      expect(logged).toEqual({ update: PHONES.length, delete: PHONES.length });
      const bob = (await ldap('ldapsearch', ['-LLL', '-b', `uid=bob,${PEOPLE_DN}`, '-s', 'base', 'telephoneNumber', 'cn'])).stdout;
      expect(bob).toContain('telephoneNumber: +49 30 1234502');
      expect(bob).toContain('cn: Bob Baker');
    });

    it('a bad first run is put right by fixing the config and restarting: the changed config re-reads the whole directory', async () => {
      // The mistake: the wrong SIP domain. Nothing changes in LDAP from here on.
      expect(await server?.stop()).toBe(0);
      server = await serve({ SIP_DOMAIN: 'example.net' });
      const wrong = await directories((d) => d?.has('sip:bob@example.net') === true);
      for (const dir of wrong) expect([...(dir?.keys() ?? [])].every((u) => u.endsWith('@example.net'))).toBe(true);
      // Fixed and restarted.
      expect(await server.stop()).toBe(0);
      server = await serve();
      const right = await directories((d) => d?.has('sip:bob@example.com') === true);
      for (const dir of right) expect([...(dir?.keys() ?? [])].every((u) => u.endsWith('@example.com'))).toBe(true);
      expect(right[0]?.size).toBe(demoPeople('example.com').size - 1);
    });

    it('`sync run --full` by hand (serve stopped) re-reads the directory for a document and changes nothing that is right', async () => {
      expect(await server?.stop()).toBe(0);
      server = undefined;
      const args = ['sync', 'run', 'corp-directory', '--full', '--user', 'sip:alice@example.com', '--config', EXAMPLE, '--data', store.data];
      const full = await cli(args, env);
      expect(full.stdout).toMatch(/^corp-directory sip:alice@example\.com: applied \(full read\); xcap \+0 ~0 -0, remote \+0 ~0 -0, conflicts 0$/m);
      expect(full.code).toBe(0);
    });
  });
});

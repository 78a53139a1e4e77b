/**
 * docs/directory-to-phones.md at size (issue 9, "Done when"): the demo slapd
 * (deploy/demo-directory/slapd.sh) loaded with people.ldif plus `count` generated people,
 * `xcap-bridge serve` as a child process with deploy/xcap-bridge.example.yaml unchanged
 * (environment only), three users added with `user add` who never wrote a document, and
 * three phones polling their index over HTTP (Digest) every 200 ms. Measures:
 * 1. import: from starting `serve` until all three phones see every entry — goal < 5 s;
 * 2. edit + delete: one LDAP modify and one LDAP delete, then a tick (POST /admin/sync/run,
 *    which enqueues what a schedule tick enqueues), until all three phones see both —
 *    goal < 2 s after the tick; 5 rounds, median and max.
 *
 *   npx node bench/directory-to-phones.ts [count]      (default 10000)
 *
 * PROFILE_DIR=dir writes a CPU profile of `serve` there (node --cpu-prof), for Chrome's
 * DevTools or `npx node bench/profile-top.ts dir/*.cpuprofile`.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { peopleLdif } from '../test/connectors/ldap-fixtures.ts';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { startRedis } from '../test/services/redis.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const BIN = resolve(ROOT, 'bin/xcap-bridge.js');
const EXAMPLE = resolve(ROOT, 'deploy/xcap-bridge.example.yaml');
const PEOPLE_DN = 'ou=people,dc=example,dc=com';
const ADMIN_DN = 'cn=admin,dc=example,dc=com';
const PASSWORD = 'bench-secret';
const PHONES = ['alice', 'bob', 'carol'];
const count = Number(process.argv[2] ?? 10_000);
const DEMO_PEOPLE = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU time (user + system) the process has used so far, in seconds: what load on the machine does not inflate. */
const cpuSeconds = (pid: number | undefined): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const entries = (body: string) => body.split('<entry ').length - 1;

const ldapPort = await freePort();
const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
const ldapDir = tempDir('bench-ldap');
const slapd = spawnService('env', [`LDAP_PORT=${ldapPort}`, `LDAP_PASSWORD=${PASSWORD}`, resolve(ROOT, 'deploy/demo-directory/slapd.sh'), `${ldapDir}/data`]);
const redis = await startRedis();
const data = tempDir('bench-data');
const ldap = (tool: string, args: string[], input?: string) => {
  const child = run(tool, ['-x', '-H', ldapUrl, '-D', ADMIN_DN, '-w', PASSWORD, ...args], { maxBuffer: 256 << 20 });
  if (input !== undefined) child.child.stdin?.end(input);
  return child;
};
let serve: ReturnType<typeof spawn> | undefined;
try {
  await waitForPort(ldapPort, slapd.child, slapd.output);
  await ldap('ldapadd', ['-f', resolve(ROOT, 'deploy/demo-directory/people.ldif')]);
  let t0 = performance.now();
  await ldap('ldapadd', [], peopleLdif(PEOPLE_DN, count));
  console.log(`directory: ${DEMO_PEOPLE} demo people + ${count} generated (ldapadd ${(performance.now() - t0).toFixed(0)} ms, set-up)`);
  const total = DEMO_PEOPLE + count;

  const store = ['--config', EXAMPLE, '--data', data];
  for (const p of PHONES) await run(process.execPath, [BIN, 'user', 'add', `sip:${p}@example.com`, '--password', `${p}-secret`, ...store]);
  await run(process.execPath, [BIN, 'user', 'add', 'sip:admin@example.com', '--password', 'admin-secret', '--admin', ...store]);
  const port = await freePort();
  const env = { ...process.env, LDAP_URL: ldapUrl, LDAP_PASSWORD: PASSWORD, LDAP_DELETE_SCAN_MS: '0', REDIS_URL: redis.url, XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' };

  const profile = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
  // 1. Import: serve starts, its scheduler's first tick imports for every user.
  t0 = performance.now();
  // setpriv: serve dies with this script, however it ends.
  serve = spawn('setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, ...profile, BIN, 'serve', ...store, '--host', '127.0.0.1', '--port', String(port), '--log-level', process.env.SERVE_LOG_LEVEL ?? 'warn'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const root = `http://127.0.0.1:${port}/xcap-root`;
  const phones = PHONES.map((p) => ({ name: p, client: new XcapClient(root, { username: p, password: `${p}-secret` }), path: `/resource-lists/users/sip:${p}@example.com/index` }));
  const seen = new Map<string, number>();
  while (seen.size < phones.length) {
    for (const ph of phones) {
      if (seen.has(ph.name)) continue;
      const res = await ph.client.get(ph.path).catch(() => undefined);
      if (res?.status === 200 && entries(res.body) === total) seen.set(ph.name, performance.now() - t0);
    }
    await sleep(200);
  }
  const importCpu = cpuSeconds(serve.pid);
  const sizes = await Promise.all(phones.map(async (ph) => (await ph.client.get(ph.path)).body.length));
  console.log(`import: ${total} entries on ${phones.length} phones ${Math.max(...seen.values()).toFixed(0)} ms after serve started (per phone: ${[...seen.values()].map((v) => v.toFixed(0)).join(', ')} ms; process start included); document ${(sizes[0] as number / 1e6).toFixed(2)} MB; goal < 5000 ms; serve CPU ${importCpu.toFixed(1)} s`);

  // 2. Edit + delete, then a tick.
  const admin = new XcapClient(`http://127.0.0.1:${port}`, { username: 'admin', password: 'admin-secret' }, { mode: 'basic' });
  const visible: number[] = [];
  const editCpu0 = cpuSeconds(serve.pid);
  for (let i = 0; i < 5; i++) {
    const edited = `p${(i * 7919 + 11) % count}`;
    const deleted = `p${(i * 104_729 + 5) % count}`;
    const title = `Bench ${i}`;
    await ldap('ldapmodify', [], `dn: uid=${edited},${PEOPLE_DN}\nchangetype: modify\nreplace: title\ntitle: ${title}\n`);
    await ldap('ldapdelete', [`uid=${deleted},${PEOPLE_DN}`]);
    t0 = performance.now();
    const tick = await admin.request('POST', '/admin/sync/run', { body: JSON.stringify({ binding: 'corp-directory' }), headers: { 'Content-Type': 'application/json' } });
    if (tick.status !== 202) throw new Error(`POST /admin/sync/run: ${tick.status} ${tick.body}`);
    const done = new Set<string>();
    let last = 0;
    while (done.size < phones.length) {
      for (const ph of phones) {
        if (done.has(ph.name)) continue;
        const body = (await ph.client.get(ph.path)).body;
        if (body.includes(`>${title}<`) && !body.includes(`"sip:${deleted}@example.com"`)) {
          done.add(ph.name);
          last = performance.now() - t0;
        }
      }
      await sleep(200);
    }
    visible.push(last);
  }
  console.log(`edit + delete on ${phones.length} phones after a tick: median ${median(visible).toFixed(0)} ms, max ${Math.max(...visible).toFixed(0)} ms (5 rounds: ${visible.map((v) => v.toFixed(0)).join(', ')}); goal < 2000 ms; serve CPU ${((cpuSeconds(serve.pid) - editCpu0) / visible.length).toFixed(2)} s a round`);
} finally {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve?.once('exit', r));
    serve.kill('SIGTERM');
    await exited; // the profile is written on exit
  }
  await stopChild(slapd.child, ldapDir);
  await redis.stop();
  await stopChild(spawn('rm', ['-rf', data]));
}

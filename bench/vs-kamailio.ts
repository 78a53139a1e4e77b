/**
 * xcap-bridge side by side with Kamailio 5.6's xcap_server on PostgreSQL, as users compare them.
 *
 *   npm run bench -- vs-kamailio [--rounds 3] [--seconds 5] [--connections 32] [--serve-arg ARG ...]
 *
 * Installs Kamailio from Debian when it is missing, starts a throwaway PostgreSQL with its
 * durable defaults (fsync, synchronous commit: a Kamailio 2xx survives a power loss), Kamailio
 * (db_postgres + xhttp + xcap_server, children=4, no auth) and `xcap-bridge serve` as a user
 * starts it (defaults but `auth.allowBasicOverHttp`, a user added with `xcap-bridge user add`, Basic auth on every request,
 * its log on stdout going to a file), puts the same 100-entry resource-lists document in
 * both, warms each case up on each side for 2 s (not counted), then runs each case with
 * `wrk -t1 -c32 -d5s` on one server and then the other
 * (the order alternates per round), for 3 rounds. Prints every round (req/s, non-2xx, CPU
 * time each side's processes used per 1,000 requests) and the median ratio per case against
 * the goal. `--serve-arg` passes extra arguments to `serve` (e.g. `--serve-arg=--workers=1`).
 * Last, when strace is installed, one more whole-document PUT run per side under
 * `strace -f -c -e trace=fdatasync,fsync` counts the flushes to disk per 1,000 PUTs (the
 * proof that a 2xx was flushed: under strace throughput is not comparable, so it is apart).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freshPostgresDatabase } from '../test/services/databases.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { freePort, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { resourceLists } from './fixtures.ts';
import { ensureDebianPackages, fmt, load, median, spawnLogged, tail, wrkBenchOptions, treePids, wrk, type Measured } from './wrk.ts';

const { rounds, seconds, connections, serveArgs } = wrkBenchOptions(3);

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'xcap-bridge.js');
const KAMAILIO = '/usr/sbin/kamailio';
const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const KAMAILIO_SQL = '/usr/share/kamailio/postgres';
const XUI = 'sip:alice@example.com';
const DOC_PATH = `/xcap-root/resource-lists/users/${XUI}/index`;
const ENTRY_SEL = '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:user50@example.com%22%5D';
const ENTRY_BODY = '<entry uri="sip:user50@example.com"><display-name>Fifty</display-name></entry>';
const DOC = resourceLists(100);
const WARM_UP_SECONDS = 2;

/** The four cases and the goal for each (median ratio xcap-bridge / Kamailio). */
interface Case {
  readonly name: string;
  readonly goal: number;
  readonly path: string;
  readonly put?: { readonly body: string; readonly type: string };
}
const CASES: readonly Case[] = [
  { name: 'GET 100-entry document', goal: 3, path: DOC_PATH },
  { name: 'GET one entry by selector', goal: 3, path: DOC_PATH + ENTRY_SEL },
  { name: 'PUT whole document (validated)', goal: 2, path: DOC_PATH, put: { body: DOC, type: 'application/resource-lists+xml' } },
  { name: 'PUT one entry by selector', goal: 2, path: DOC_PATH + ENTRY_SEL, put: { body: ENTRY_BODY, type: 'application/xcap-el+xml' } },
];

/** Kamailio and the three modules, from Debian when missing (the lock shared with other installs). */
function ensureKamailio(): void {
  const modules = ['xcap_server', 'xhttp', 'db_postgres', 'sl', 'pv'];
  ensureDebianPackages(['kamailio', 'kamailio-xml-modules', 'kamailio-postgres-modules'], [KAMAILIO, KAMAILIO_SQL, ...modules.map((m) => `${KAMAILIO_MODULES}/${m}.so`)]);
}

function kamailioConfig(port: number, dbUrl: string): string {
  return `#!KAMAILIO
debug=1
log_stderror=yes
children=4
tcp_children=4
tcp_accept_no_cl=yes
auto_aliases=no
listen=tcp:127.0.0.1:${port}
mpath="${KAMAILIO_MODULES}/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xhttp.so"
loadmodule "db_postgres.so"
loadmodule "xcap_server.so"
modparam("xcap_server", "db_url", "${dbUrl}")
modparam("xcap_server", "buf_size", 65536)
request_route { drop; }
event_route[xhttp:request] {
  if ($hu =~ "^/xcap-root/") {
    $xcapuri(u=>data) = $hu;
    $var(uri) = $xcapuri(u=>xuid);
    switch ($rm) {
      case "PUT": xcaps_put("$var(uri)", "$hu", "$rb"); exit;
      case "GET": xcaps_get("$var(uri)", "$hu"); exit;
      case "DELETE": xcaps_del("$var(uri)", "$hu"); exit;
    }
  }
  xhttp_reply("404", "Not Found", "", "");
}
`;
}

/** Creates Kamailio's database with the tables (and `version` rows) its own SQL files define. */
async function createKamailioDatabase(serverUrl: string): Promise<string> {
  const url = await freshPostgresDatabase(serverUrl, 'kamailio');
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  for (const file of ['standard-create.sql', 'presence-create.sql']) await db.query(readFileSync(join(KAMAILIO_SQL, file), 'utf8'));
  await db.end();
  return url;
}

/** The PostgreSQL server's main process (its backends are below it). */
async function postmasterPid(url: string): Promise<number> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const { rows } = await db.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
  await db.end();
  return Number(readFileSync(join(rows[0]?.setting ?? '', 'postmaster.pid'), 'utf8').split('\n')[0]);
}


interface Side {
  readonly name: string;
  /** The server's recent output, for the error when it stops answering. */
  readonly output: () => string;
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Root pids whose process trees do this side's work (server, database). */
  readonly pids: () => number[];
}



async function runWrk(side: Side, c: Case, dir: string, secs = seconds): Promise<Measured> {
  return wrk({ url: side.base + c.path, headers: side.headers, connections, seconds: secs, put: c.put, dir, pids: side.pids(), describe: () => `${side.name} on ${c.name}; its output:\n${side.output()}` });
}

/** One wrk run of `c` with strace counting the fdatasync/fsync calls of the side's processes. */
async function countFlushes(side: Side, c: Case, dir: string): Promise<{ requests: number; flushes: number }> {
  const out = join(dir, `strace-${side.name}.txt`);
  const pids = treePids(side.pids()).flatMap((p) => ['-p', String(p)]);
  const strace = spawn('strace', ['-f', '-c', '-e', 'trace=fdatasync,fsync', '-o', out, ...pids], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const m = await runWrk(side, c, dir);
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  const table = readFileSync(out, 'utf8');
  const calls = (name: string) => Number(new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)(?:\\s+\\d+)?\\s+${name}$`, 'm').exec(table)?.[1] ?? 0);
  return { requests: m.requests, flushes: calls('fdatasync') + calls('fsync') };
}


async function check(side: Side, c: Case): Promise<void> {
  const init: RequestInit = { headers: { ...side.headers, ...(c.put ? { 'Content-Type': c.put.type } : {}) } };
  if (c.put) Object.assign(init, { method: 'PUT', body: c.put.body });
  const res = await fetch(side.base + c.path, init);
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`${side.name}: ${c.name} answered ${res.status} ${text}`);
}





ensureKamailio();
const dir = tempDir('vs-kamailio');
const postgres = await startPostgres({ durable: true });
let kamailio: ChildProcess | undefined;
let bridge: ChildProcess | undefined;
try {
  const dbUrl = await createKamailioDatabase(postgres.url);
  const kamPort = await freePort();
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, kamailioConfig(kamPort, dbUrl));
  const kamLog = join(dir, 'kamailio.log');
  const kam = { child: spawnLogged(KAMAILIO, ['-f', cfg, '-DD', '-E', '-m', '256', '-M', '16'], dir, kamLog), output: () => tail(kamLog) };
  kamailio = kam.child;
  await waitForPort(kamPort, kam.child, kam.output);

  // xcap-bridge as a user starts it: in its own directory (so ./data), a user, then serve.
  const bridgeDir = join(dir, 'xcap-bridge');
  mkdirSync(bridgeDir);
  execFileSync(process.execPath, [CLI, 'user', 'add', XUI, '--password', 'secret'], { cwd: bridgeDir, stdio: 'pipe' });
  // The one setting off the defaults: Basic over loopback HTTP (both servers get Basic; TLS is not measured).
  writeFileSync(join(bridgeDir, 'xcap-bridge.yaml'), 'auth: { allowBasicOverHttp: true }\n');
  const bridgePort = await freePort();
  const logFile = join(bridgeDir, 'serve.log');
  bridge = spawnLogged(process.execPath, [CLI, 'serve', '--port', String(bridgePort), ...serveArgs], bridgeDir, logFile);
  await waitForPort(bridgePort, bridge, () => tail(logFile));

  const pgPid = await postmasterPid(postgres.url);
  const sides: Side[] = [
    { name: 'Kamailio', output: kam.output, base: `http://127.0.0.1:${kamPort}`, headers: {}, pids: () => [kam.child.pid as number, pgPid] },
    {
      name: 'xcap-bridge',
      output: () => tail(logFile),
      base: `http://127.0.0.1:${bridgePort}`,
      headers: { Authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` },
      pids: () => [bridge?.pid as number],
    },
  ];
  // Seed: the same document on both, then every case once to see it answers 2xx.
  for (const side of sides) {
    await check(side, CASES[2] as Case);
    for (const c of CASES) await check(side, c);
  }

  process.stdout.write(
    `vs Kamailio ${execFileSync(KAMAILIO, ['-v']).toString().split('\n')[0]?.replace('version: ', '')}: wrk -t1 -c${connections} -d${seconds}s, ` +
      `${rounds} rounds, Node ${process.versions.node}, serve ${['--port', String(bridgePort), ...serveArgs].join(' ')}\n`,
  );
  // Warm-up, not counted (as in bench/request-log.ts): a Node process's first seconds are JIT
  // compilation, and a new SQLite WAL grows (each flush then also writes the file's new size)
  // until its first checkpoint starts it over. Every case, both sides, the same seconds.
  process.stdout.write(`warm-up: every case on both sides for ${WARM_UP_SECONDS} s, not counted\n`);
  for (const c of CASES) for (const side of sides) await runWrk(side, c, dir, WARM_UP_SECONDS);
  const ratios = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let round = 1; round <= rounds; round++) {
    process.stdout.write(`\nround ${round} (load ${load()})\n| case | Kamailio req/s | xcap-bridge req/s | ratio | CPU ms / 1000 req (Kamailio+PostgreSQL, xcap-bridge) | non-2xx / errors |\n|---|---|---|---|---|---|\n`);
    for (const c of CASES) {
      // Alternate who goes first, so neither side always runs on the warmer (or busier) machine.
      const order = round % 2 === 1 ? sides : [...sides].reverse();
      const m = new Map<string, Measured>();
      for (const side of order) m.set(side.name, await runWrk(side, c, dir));
      const k = m.get('Kamailio') as Measured;
      const x = m.get('xcap-bridge') as Measured;
      const ratio = k.rps > 0 ? x.rps / k.rps : Infinity;
      ratios.get(c.name)?.push(ratio);
      process.stdout.write(
        `| ${c.name} | ${fmt(k.rps)} | ${fmt(x.rps)} | ${ratio.toFixed(2)}× | ${fmt(k.cpuMsPer1000)}, ${fmt(x.cpuMsPer1000)} | ` +
          `K ${k.non2xx}/${k.errors}, x ${x.non2xx}/${x.errors} |\n`,
      );
    }
  }
  process.stdout.write(`\nmedian of ${rounds} rounds (load ${load()})\n| case | median ratio | goal | met |\n|---|---|---|---|\n`);
  for (const c of CASES) {
    const r = median(ratios.get(c.name) as number[]);
    process.stdout.write(`| ${c.name} | ${r.toFixed(2)}× | ≥ ${c.goal}× | ${r >= c.goal ? 'yes' : 'no'} |\n`);
  }
  if (existsSync('/usr/bin/strace')) {
    process.stdout.write(`\nflushes to disk during ${seconds} s of whole-document PUTs, under strace (not a speed figure)\n| side | PUTs | fdatasync + fsync calls | per 1,000 PUTs |\n|---|---|---|---|\n`);
    for (const side of sides) {
      const f = await countFlushes(side, CASES[2] as Case, dir);
      process.stdout.write(`| ${side.name} | ${fmt(f.requests)} | ${fmt(f.flushes)} | ${fmt((f.flushes / f.requests) * 1000)} |\n`);
    }
  }
} finally {
  if (bridge) await stopChild(bridge);
  if (kamailio) await stopChild(kamailio);
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}

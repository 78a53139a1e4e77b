/**
 * CardDAV sync at size (issue 11 item 7): `users` × `contacts` against a real Radicale
 * (test/services/radicale.ts) and the real gateway in this process (SQLite, Redis),
 * binding `buddies` (direction both, every user's `/user/contacts/`). Measures:
 * 1. seeding: one multi-vCard PUT per address book (Radicale's own cost, under its lock);
 * 2. import CardDAV → XCAP: one run per user until every document holds every contact;
 * 3. no-change run over all users: REPORT requests per address book (goal ≤ 1) and time (goal < 2 s),
 *    next to the same REPORTs sent to Radicale directly (its share);
 * 4. import XCAP → CardDAV: `pushUsers` users each PUT a document of `contacts` new
 *    entries; until every card is in Radicale (one conditional PUT per card);
 * 5. edit latency: a phone's element PUT until the card shows it (worker idle, event
 *    driven), and a desktop's card edit until the phone sees it after a tick; 5 rounds each.
 *
 *   npx node bench/carddav.ts [users] [contacts] [pushUsers] [--seed-files]     (default 200 200 20)
 *
 * `--seed-files` writes the cards into Radicale's storage folder instead of PUTting them
 * (minutes instead of ~10 minutes at 200 × 200 on a loaded machine), then asks every address
 * book once (untimed) so Radicale builds its item cache as its PUT would have: the later
 * steps then see the same server state.
 *
 * HTTP requests to Radicale are counted by method and timed (a wrapper around fetch: the
 * time from sending to the answer's headers, summed over the requests of a step).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { LocalUsers } from '../src/auth/local-users.ts';
import { configSchema } from '../src/config/schema.ts';
import { startGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log.ts';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { freePort, tempDir } from '../test/services/process.ts';
import { startRadicale } from '../test/services/radicale.ts';
import { startRedis } from '../test/services/redis.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seedFiles = process.argv.includes('--seed-files');
const users = Number(args[0] ?? 200);
const contacts = Number(args[1] ?? 200);
const pushUsers = Number(args[2] ?? 20);
const RL_NS = 'urn:ietf:params:xml:ns:resource-lists';
const RL_TYPE = 'application/resource-lists+xml';
const EL_TYPE = 'application/xcap-el+xml';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

const counts = new Map<string, number>();
let fetchMs = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
  const m = init?.method ?? 'GET';
  counts.set(m, (counts.get(m) ?? 0) + 1);
  const t = performance.now();
  try {
    return await realFetch(input, init);
  } finally {
    fetchMs += performance.now() - t;
  }
}) as typeof fetch;
const resetCounts = () => {
  counts.clear();
  fetchMs = 0;
};

const syncBody = (token: string) => `<sync-collection xmlns="DAV:"><sync-token>${token}</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>`;

function card(uid: string, i: number, u: number): string {
  return ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:Contact ${i} of ${u}`, `N:${u};Contact ${i};;;`, `IMPP:sip:c${i}.u${u}@example.com`, `EMAIL:c${i}.u${u}@example.com`, `TEL;TYPE=CELL:+4915${String(u).padStart(3, '0')}${String(i).padStart(6, '0')}`, 'NOTE:bench', 'END:VCARD', ''].join('\r\n');
}

const radicale = await startRadicale();
const redis = await startRedis();
const dir = tempDir('bench-carddav');
const names = Array.from({ length: users + pushUsers }, (_, i) => `user${i}`);
const davAuth = (u: string) => `Basic ${Buffer.from(`${u}:pw-${u}`).toString('base64')}`;
writeFileSync(join(dir, 'passwords'), names.map((u) => `${u}:pw-${u}`).join('\n'));
for (const u of names) radicale.addUser(u, `pw-${u}`);
const dav = (u: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  realFetch(new URL(path, radicale.url), { method, headers: { Authorization: davAuth(u), ...headers }, ...(body === undefined ? {} : { body }) });

try {
  // 1. Seeding: one PUT of a whole address book per user (or the files, --seed-files).
  let t0 = performance.now();
  const pullUsers = names.slice(0, users);
  const bookOf = (n: number) => Array.from({ length: contacts }, (_, c) => card(`u${n}-c${c}`, c, n));
  if (seedFiles) {
    pullUsers.forEach((u, n) => {
      const book = join(radicale.collections, 'collection-root', u, 'contacts');
      mkdirSync(book, { recursive: true });
      writeFileSync(join(book, '.Radicale.props'), '{"tag": "VADDRESSBOOK"}');
      bookOf(n).forEach((text, c) => writeFileSync(join(book, `u${n}-c${c}.vcf`), text));
    });
    const written = performance.now() - t0;
    for (let i = 0; i < pullUsers.length; i += 4) {
      await Promise.all(pullUsers.slice(i, i + 4).map(async (u) => {
        const res = await dav(u, 'REPORT', `/${u}/contacts/`, '<sync-collection xmlns="DAV:"><sync-token/><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>', { Depth: '0', 'Content-Type': 'application/xml' });
        if (res.status !== 207) throw new Error(`warm-up ${u}: ${res.status}`);
        await res.text();
      }));
    }
    console.log(`seed: ${users} address books × ${contacts} cards written as files in ${written.toFixed(0)} ms, Radicale's first read of each (its item cache) ${ms(t0 + written)}`);
  } else {
    for (let i = 0; i < pullUsers.length; i += 8) {
      await Promise.all(pullUsers.slice(i, i + 8).map(async (u, k) => {
        const res = await dav(u, 'PUT', `/${u}/contacts/`, bookOf(i + k).join(''), { 'Content-Type': 'text/vcard' });
        if (res.status !== 201) throw new Error(`seed ${u}: ${res.status}`);
      }));
    }
    const seedMs = performance.now() - t0;
    console.log(`seed: ${users} address books × ${contacts} cards in ${seedMs.toFixed(0)} ms (one multi-vCard PUT each, 8 at a time; ${((users * contacts) / (seedMs / 1000)).toFixed(0)} cards/s)`);
  }
  for (const u of names.slice(users)) {
    const res = await dav(u, 'MKCOL', `/${u}/contacts/`, '<mkcol xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><set><prop><resourcetype><collection/><C:addressbook/></resourcetype></prop></set></mkcol>', { 'Content-Type': 'application/xml' });
    if (res.status !== 201) throw new Error(`mkcol ${u}: ${res.status}`);
  }

  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: await freePort() },
    store: { kind: 'sqlite', dataDir: join(dir, 'data') },
    auth: { defaultDomain: 'example.com' },
    redis: { url: redis.url, prefix: `bench-carddav-${randomUUID()}` },
    log: { level: 'silent' },
    connectors: { dav: { kind: 'carddav', url: radicale.url, addressBook: '/{user}/contacts/', credentials: { passwordsFile: join(dir, 'passwords') }, auth: 'basic', write: { enabled: true } } },
    bindings: [{
      name: 'buddies', auid: 'resource-lists', target: { scope: 'users', document: 'index', users: pullUsers.map((u) => `sip:${u}@example.com`) },
      mapping: { kind: 'resource-lists', list: 'buddies', fields: ['mail'] }, connector: 'dav', collection: '{user}', direction: 'both', policy: 'manual',
      safety: { maxDeleteShare: 1 },
    }],
  });
  const gateway = await startGateway(config, createLogger('silent'));
  const localUsers = await LocalUsers.open(gateway.store.sql);
  for (const u of names) await localUsers.add(`sip:${u}@example.com`, `xcap-${u}`);
  // One query per 100 ms (a query per scope would cost the gateway's process as much CPU as the runs it waits for).
  const allRan = async (scopes: string[], since: number) => {
    for (;;) {
      const [row] = await gateway.store.sql.query<{ ran: number; failed: string | null }>(
        'SELECT COUNT(*) AS ran, MAX(last_error) AS failed FROM sync_scopes WHERE binding = ? AND last_run_at >= ?',
        ['buddies', since],
      );
      if (row?.failed) throw new Error(`run failed: ${row.failed}`);
      if (Number(row?.ran ?? 0) >= scopes.length) return;
      await sleep(100);
    }
  };
  const scopes = pullUsers.map((u) => `sip:${u}@example.com`);

  try {
    // 2. Import CardDAV → XCAP.
    resetCounts();
    let since = Date.now();
    t0 = performance.now();
    await gateway.sync?.enqueue('buddies');
    await allRan(scopes, since);
    const importMs = performance.now() - t0;
    const phone0 = new XcapClient(gateway.url, { username: 'user0', password: 'xcap-user0' });
    const doc0 = await phone0.get('/resource-lists/users/sip:user0@example.com/index');
    const entries0 = doc0.body.split('<entry ').length - 1;
    console.log(`import CardDAV → XCAP: ${users} users × ${contacts} in ${importMs.toFixed(0)} ms (${entries0} entries in user0's document; requests ${JSON.stringify(Object.fromEntries(counts))})`);

    // 3. No-change run over every user.
    // PROFILE_DIR=dir: a CPU profile of this process during the second round (bench/profile-top.ts reads it).
    const profiler = process.env.PROFILE_DIR ? new Session() : undefined;
    profiler?.connect();
    await profiler?.post('Profiler.enable');
    for (let round = 0; round < 3; round++) {
      if (round === 1) await profiler?.post('Profiler.start');
      resetCounts();
      since = Date.now();
      t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const radicaleCpu0 = radicale.cpuSeconds();
      await gateway.sync?.enqueue('buddies');
      await allRan(scopes, since);
      const cpu = process.cpuUsage(cpu0);
      if (round === 1 && profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(join(process.env.PROFILE_DIR as string, 'carddav-no-change.cpuprofile'), JSON.stringify(profile));
      }
      console.log(`  CPU: the gateway ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, Radicale ${(radicale.cpuSeconds() - radicaleCpu0).toFixed(2)} s`);
      console.log(`no-change run, round ${round + 1}: ${users} users in ${ms(t0)}; requests ${JSON.stringify(Object.fromEntries(counts))} (${((counts.get('REPORT') ?? 0) / users).toFixed(2)} REPORT per address book; ${fetchMs.toFixed(0)} ms waiting for Radicale, summed over the requests)`);
    }

    // 3b. The same questions asked of Radicale directly: one at a time, 4 at a time (the
    // worker's concurrency), and its floor: an authenticated PROPFIND of each user's
    // principal (no address book read), one at a time; then the REPORTs from curl.
    const report = (u: string, token: string) =>
      dav(u, 'REPORT', `/${u}/contacts/`, syncBody(token), { Depth: '0', 'Content-Type': 'application/xml' });
    const tokens: string[] = [];
    for (const u of pullUsers) tokens.push(/<sync-token>([^<]+)<\/sync-token>/.exec(await (await report(u, '')).text())?.[1] ?? '');
    const radicaleCpu = async (what: string, work: () => Promise<unknown>) => {
      const c0 = radicale.cpuSeconds();
      t0 = performance.now();
      await work();
      console.log(`Radicale alone: ${what} in ${ms(t0)} (Radicale CPU ${(radicale.cpuSeconds() - c0).toFixed(2)} s)`);
    };
    for (const at of [1, 4]) {
      await radicaleCpu(`${users} sync-collection REPORTs with a current token, ${at} at a time,`, async () => {
        for (let i = 0; i < pullUsers.length; i += at) await Promise.all(pullUsers.slice(i, i + at).map(async (u, k) => (await report(u, tokens[i + k] ?? '')).text()));
      });
    }
    await radicaleCpu(`${users} PROPFINDs of the principal (Basic auth, no address book read), one at a time,`, async () => {
      for (const u of pullUsers) await (await dav(u, 'PROPFIND', `/${u}/`, '<propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>', { Depth: '0', 'Content-Type': 'application/xml' })).text();
    });
    const curlConfig = join(dir, 'curl.cfg');
    writeFileSync(curlConfig, pullUsers.map((u, k) => [`url = "${radicale.url}/${u}/contacts/"`, 'request = "REPORT"', `user = "${u}:pw-${u}"`, 'header = "Depth: 0"', 'header = "Content-Type: application/xml"', `data = "${syncBody(tokens[k] ?? '').replace(/"/g, '\\"')}"`, 'output = "/dev/null"', ''].join('\n')).join('next\n'));
    t0 = performance.now();
    execFileSync('curl', ['-sS', '--fail', '-K', curlConfig]);
    console.log(`curl alone: the ${users} REPORTs, one process, one at a time, in ${ms(t0)}`);

    // 4. Import XCAP → CardDAV.
    const pushers = names.slice(users);
    resetCounts();
    since = Date.now();
    t0 = performance.now();
    await Promise.all(pushers.map(async (u, k) => {
      const entries = Array.from({ length: contacts }, (_, c) => `<entry uri="sip:p${c}.x${k}@example.com"><display-name>Pushed ${c} of ${k}</display-name></entry>`).join('');
      const phone = new XcapClient(gateway.url, { username: u, password: `xcap-${u}` });
      const res = await phone.put(`/resource-lists/users/sip:${u}@example.com/index`, `<?xml version="1.0" encoding="UTF-8"?><resource-lists xmlns="${RL_NS}"><list name="buddies">${entries}</list></resource-lists>`, RL_TYPE);
      if (res.status !== 201) throw new Error(`phone PUT ${u}: ${res.status} ${res.body}`);
    }));
    for (;;) {
      const done = await Promise.all(pushers.map(async (u) => (await (await dav(u, 'GET', `/${u}/contacts/`)).text()).split('BEGIN:VCARD').length - 1));
      if (done.every((n) => n === contacts)) break;
      await sleep(200);
    }
    const pushMs = performance.now() - t0;
    console.log(`import XCAP → CardDAV: ${pushUsers} users × ${contacts} in ${pushMs.toFixed(0)} ms (${((pushUsers * contacts) / (pushMs / 1000)).toFixed(0)} cards/s; requests ${JSON.stringify(Object.fromEntries(counts))})`);
    // Radicale alone: as many single-card conditional PUTs as one user's import, 4 at a time.
    t0 = performance.now();
    for (let i = 0; i < contacts; i += 4) {
      await Promise.all(Array.from({ length: Math.min(4, contacts - i) }, (_, k) => dav(pushers[0] as string, 'PUT', `/${pushers[0]}/contacts/direct-${i + k}.vcf`, card(`direct-${i + k}`, i + k, 999), { 'Content-Type': 'text/vcard', 'If-None-Match': '*' })));
    }
    const directMs = performance.now() - t0;
    console.log(`Radicale alone: ${contacts} single-card PUTs (If-None-Match: *), 4 at a time, in ${directMs.toFixed(0)} ms (${(contacts / (directMs / 1000)).toFixed(0)} cards/s)`);

    // 5. Edit latency, worker idle.
    const toCard: number[] = [];
    const toPhone: number[] = [];
    for (let round = 0; round < 5; round++) {
      const name = `Edited ${round}`;
      const uri = `sip:c${round}.u0@example.com`;
      t0 = performance.now();
      const sel = encodeURIComponent(`resource-lists/list[@name="buddies"]/entry[@uri="${uri}"]`).replace(/%2F/g, '/');
      const res = await phone0.put(`/resource-lists/users/sip:user0@example.com/index/~~/${sel}`, `<entry xmlns="${RL_NS}" uri="${uri}"><display-name>${name}</display-name></entry>`, EL_TYPE);
      if (res.status !== 200) throw new Error(`element PUT: ${res.status} ${res.body}`);
      for (;;) {
        const text = await (await dav('user0', 'GET', `/user0/contacts/u0-c${round}.vcf`)).text();
        if (text.includes(`FN:${name}`)) break;
        await sleep(20);
      }
      toCard.push(performance.now() - t0);

      const desk = `Desk ${round}`;
      const text = await (await dav('user0', 'GET', `/user0/contacts/u0-c${round + 10}.vcf`)).text();
      await dav('user0', 'PUT', `/user0/contacts/u0-c${round + 10}.vcf`, text.replace(/^FN:.*$/m, `FN:${desk}\r`), { 'Content-Type': 'text/vcard' });
      t0 = performance.now();
      await gateway.sync?.enqueue('buddies', 'sip:user0@example.com');
      for (;;) {
        const doc = await phone0.get('/resource-lists/users/sip:user0@example.com/index');
        if (doc.body.includes(`<display-name>${desk}</display-name>`)) break;
        await sleep(20);
      }
      toPhone.push(performance.now() - t0);
    }
    console.log(`edit on the phone → card: median ${median(toCard).toFixed(0)} ms, max ${Math.max(...toCard).toFixed(0)} ms (goal < 2 s)`);
    console.log(`edit in the address book → phone after a tick: median ${median(toPhone).toFixed(0)} ms, max ${Math.max(...toPhone).toFixed(0)} ms`);
  } finally {
    await gateway.stop();
  }
} finally {
  await radicale.stop();
  await redis.stop();
}

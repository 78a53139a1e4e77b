/**
 * A throwaway Kamailio presence server for the change-feed tests: presence + presence_xml
 * with an external XCAP server (integrated_xcap_server=0, xcap_client fetching from
 * xcap-bridge with an admin's Basic credentials), jsonrpcs over xhttp answering JSON-RPC on
 * `/RPC` (each request body is logged, so a test reads what Kamailio received), db_postgres
 * on a fresh database of the suite's PostgreSQL with Kamailio's own tables
 * (/usr/share/kamailio/postgres). Loopback ports, a temp dir, dies with the runner.
 * Without `xcap`, presence_xml runs with integrated_xcap_server=1: it reads pres-rules
 * from its `xcap` table as Kamailio's own xcap_server writes them (a legacy set-up).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freshPostgresDatabase } from './databases.ts';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from './process.ts';

const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const TABLES = ['standard-create.sql', 'presence-create.sql', 'rls-create.sql'];

export interface Kamailio {
  /** SIP (UDP) port on 127.0.0.1. */
  readonly sipPort: number;
  /** JSON-RPC endpoint (`http://127.0.0.1:<port>/RPC`). */
  readonly rpcUrl: string;
  /** Everything Kamailio logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface KamailioOptions {
  /** Base URL of the suite's PostgreSQL (inject('services').postgres). */
  readonly postgres: string;
  /** xcap-bridge as xcap_client reaches it: host, root path and port; none for integrated_xcap_server=1. */
  readonly xcap?: { readonly host: string; readonly root: string; readonly port: number; readonly login: string; readonly password: string };
  /** Ports to reuse (a restart on the same ports); fresh ones when unset. */
  readonly ports?: { readonly sip: number; readonly http: number };
  /** Database to reuse (a restart keeps its tables); a fresh one when unset. */
  readonly dbUrl?: string;
}

export interface StartedKamailio extends Kamailio {
  readonly ports: { readonly sip: number; readonly http: number };
  readonly dbUrl: string;
}

export async function startKamailio(o: KamailioOptions): Promise<StartedKamailio> {
  const dbUrl = o.dbUrl ?? (await kamailioDatabase(o.postgres));
  const ports = o.ports ?? { sip: await freePort(), http: await freePort() };
  const dir = tempDir('kamailio');
  const u = new URL(dbUrl);
  const kamDb = `postgres://${u.username || 'postgres'}${u.password ? `:${u.password}` : ''}@${u.hostname}:${u.port}${u.pathname}`;
  // presence_xml splits xcap_server at its last colon for the port, and xcap_client hands
  // "<userinfo>@<host><root>" to libcurl as the URL: credentials and root fit in front.
  const x = o.xcap;
  const xcapClient =
    x === undefined
      ? 'modparam("presence_xml", "integrated_xcap_server", 1)'
      : `loadmodule "xcap_client.so"
modparam("presence_xml", "integrated_xcap_server", 0)
modparam("presence_xml", "xcap_server", "${x.login}:${x.password}@${x.host}${x.root}:${x.port}")
modparam("xcap_client", "db_url", "${kamDb}")
modparam("xcap_client", "periodical_query", 0)`;
  const cfg = `#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:${ports.sip}
listen=tcp:127.0.0.1:${ports.http}
tcp_accept_no_cl=yes
mpath="${MODULES}"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "db_postgres.so"
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"
loadmodule "pua.so"
loadmodule "rls.so"
modparam("jsonrpcs", "transport", 1)
modparam("presence", "db_url", "${kamDb}")
modparam("presence", "server_address", "sip:127.0.0.1:${ports.sip}")
modparam("presence", "subs_db_mode", 3)
modparam("presence_xml", "db_url", "${kamDb}")
modparam("presence_xml", "force_active", 0)
${xcapClient}
modparam("pua", "db_url", "${kamDb}")
modparam("rls", "db_url", "${kamDb}")
modparam("rls", "server_address", "sip:rls@127.0.0.1:${ports.sip}")
modparam("rls", "integrated_xcap_server", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("SUBSCRIBE")) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    handle_subscribe();
    t_release();
    exit;
  }
  if (is_method("PUBLISH")) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    handle_publish();
    t_release();
    exit;
  }
  sl_send_reply("404", "Not here");
}

event_route[xhttp:request] {
  if ($hu =~ "^/RPC") {
    xlog("L_NOTICE", "JSON-RPC request: $rb\\n");
    jsonrpc_dispatch();
  } else {
    xhttp_reply("404", "Not Found", "text/plain", "not here");
  }
}
`;
  const file = join(dir, 'kamailio.cfg');
  writeFileSync(file, cfg);
  const { child, output } = spawnService('kamailio', ['-f', file, '-DD', '-E', '-m', '64', '-M', '8', '-Y', dir, '-P', join(dir, 'kamailio.pid')]);
  let log = '';
  const keep = (b: Buffer) => {
    log += b.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await waitForPort(ports.http, child, output, 30_000);
  return {
    sipPort: ports.sip,
    rpcUrl: `http://127.0.0.1:${ports.http}/RPC`,
    ports,
    dbUrl,
    log: () => log,
    stop: () => stopChild(child, dir),
  };
}

/** A fresh database with the tables Kamailio's presence modules expect. */
async function kamailioDatabase(base: string): Promise<string> {
  const url = await freshPostgresDatabase(base, 'kamailio');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const t of TABLES) await client.query(readFileSync(`/usr/share/kamailio/postgres/${t}`, 'utf8'));
  } finally {
    await client.end();
  }
  return url;
}

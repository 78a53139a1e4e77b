/**
 * Every command's `--help` text, apart from the commands themselves so that src/cli.ts can
 * print one without loading the command (the server, the sync engine, database drivers: a
 * second or two): nothing here imports anything.
 */

/** Help lines of the store options (STORE_OPTIONS in command.ts). */
export const STORE_HELP = `  --data DIR            SQLite store directory (default ./data)
  --store KIND          sqlite | postgres (default sqlite)
  --database-url URL    PostgreSQL URL (implies --store postgres; or DATABASE_URL)
`;

export const SERVE_HELP = `Usage: xcap-bridge serve [options]

Serves XCAP at http://HOST:PORT<root> (root /xcap-root by default), or https:// with
server.tls in the configuration. SIGHUP re-reads the TLS certificate and key (send it to
the primary process with --workers: it tells its workers); SIGTERM drains and stops.

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --host H              address to listen on (default 127.0.0.1)
  --port N              TCP port (default 8080; 0 picks a free one)
${STORE_HELP}  --redis-url URL       Redis for the sync queue (default redis://127.0.0.1:6379; or REDIS_URL)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info)
  --workers N|auto      HTTP worker processes sharing the port (default server.workers,
                        auto: one per CPU; with N > 1 a primary stores every XCAP write
                        and runs the sync engine, the workers validate whole documents;
                        1: one process does everything)
  -h, --help            show this help
`;

export const USER_HELP = `Usage: xcap-bridge user <subcommand> [options]

Manages the local XCAP users (stored as Digest HA1 values, never as passwords).

Subcommands:
  add <xui>       add a user, e.g. sip:alice@example.com; clients log in as
                  "alice" or "alice@example.com"
  remove <xui>    remove a user
  list            list users (XUI, and "admin" for admins)

Options for add:
  --password PW         the password (visible in ps; prefer the next two)
  --password-file F     read the password from the first line of F
                        (else the XCAP_BRIDGE_PASSWORD environment variable)
  --admin               may write the global tree and every user's documents
  --realm R             Digest realm (default: auth.realm from the config,
                        else the XUI's domain); must be what the server challenges with.
                        Users in a second realm need auth.defaultDomain in the config.

Store options (as for serve):
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --data DIR            SQLite store directory (default ./data)
  --database-url URL    PostgreSQL URL (or DATABASE_URL)
  -h, --help            show this help

Exit status: 0 done, 1 failed (user exists, no such user, store error), 2 bad usage.
`;

export const WORKER_HELP = `Usage: xcap-bridge worker [options]

Runs sync jobs from the Redis queue until SIGTERM/SIGINT, then lets running jobs finish.

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
${STORE_HELP}  --concurrency N       jobs run at once (default 4)
  --metrics-port N      serve GET /metrics, /healthz and /readyz on this port (default
                        worker.metricsPort: none; 0 picks a free one, logged)
  -h, --help            show this help
`;

export const SYNC_HELP = `Usage: xcap-bridge sync <subcommand> [options]

Subcommands:
  run <binding> [--dry-run] [--user XUI] [--force] [--full]
                        run one binding now (every user's document, or --user's);
                        --dry-run prints the plan and writes nothing; --force skips the
                        mass-delete guard; --full reads both sides whole instead of the
                        changes since the last run (a changed configuration does that too)
  status                per binding: STALE when two scheduled ticks were missed, and why;
                        per document: last run, lag, error, open conflicts
  conflicts [binding]   list open conflicts with both sides' content
  resolve <binding> <scope> <uri> --take xcap|remote
                        settle the conflict of the item with that key (an entry's uri);
                        the next run of that document applies it

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
${STORE_HELP}  -h, --help            show this help

status, conflicts, resolve and run --dry-run read the store a server wrote; they never create one.
`;

const LEGACY_HELP = `Legacy database:
  --database-url URL    the legacy server's database: postgres://... or mysql://...
                        (mariadb:// too); or LEGACY_DATABASE_URL
  --dialect D           kamailio | opensips | openxcap | auto (default auto: Kamailio
                        when doc_uri holds paths or the etag column is 128 wide, OpenXCAP
                        when pres-rules documents are named index.xml, else OpenSIPS)
  --table NAME          the legacy table (default xcap)
  --xcap-root PATH      Kamailio's xcap_root, the start of every doc_uri (default /xcap-root)

This server's store (as for serve):
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --data DIR            SQLite store directory (default ./data)
  --store-url URL       PostgreSQL URL of this server's store (or DATABASE_URL)
  -h, --help            show this help
`;

export const IMPORT_HELP = `Usage: xcap-bridge import sql --database-url URL [options]

Copies every document of a legacy XCAP server's xcap table into this server's store.
Each document is validated against its application usage as a client's PUT would be;
invalid ones are listed with the reason and not imported. A document is written whole
or not at all, under its legacy ETag, so phones' cached ETags still match after the
cut-over. Re-running is idempotent: documents already imported are unchanged, and ones
changed here since are kept (listed) unless --replace.

Options:
  --dry-run             validate and report; write nothing
  --lenient             accept <entry> without uri (Snom, Bria), as the server does for
                        those clients
  --replace             overwrite documents that changed here since they were imported
${LEGACY_HELP}
Progress goes to stderr (a bar on a terminal, a line every 5 s otherwise; nothing for
short work), the list of problems and the summary to stdout.
Exit status: 0 every document imported or unchanged, 1 some invalid or kept (or a
database error), 2 bad usage.
`;

export const EXPORT_HELP = `Usage: xcap-bridge export sql --database-url URL --dialect D [options]

Writes every user document this server holds back into a legacy xcap table in the
chosen dialect, for a roll-back: rows are inserted or updated by the table's unique key,
with source = 0, port = 0 and this server's ETag (cut to the column when longer).
Legacy rows without a document here are left alone.

${LEGACY_HELP}
Exit status: 0 done, 1 database error, 2 bad usage.
`;

export const PHONEBOOK_HELP = `Usage: xcap-bridge phonebook token <subcommand> [options]

Device tokens let a phone fetch its user's phonebooks (/phonebook/...?token=...)
without the user's password. A token reads that user's lists and the global tree,
never another user's, and cannot upload (Polycom uploads need the user's credentials).

Subcommands:
  token add <xui> [--label TEXT]   create a token for the user; printed once
  token remove <id>                revoke the token with this id
  token list [<xui>]               list tokens (id, user, label, created), never the secrets

Options:
  --label TEXT          what the token is for (e.g. "Yealink T54W, room 4.12")
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
${STORE_HELP}  -h, --help            show this help

Exit status: 0 done, 1 failed (no such token, store error), 2 bad usage.
`;

export const SQL_HELP = `Usage: xcap-bridge sql install-triggers --connector NAME [--print] [--config FILE]

Installs on the table of the sql connector NAME (connectors: in the configuration):
  - a trigger stamping its version column from one counter on every INSERT and UPDATE,
    whoever writes, so changes are found by version (none with updatedAt: the table's
    writers set that column);
  - a tombstone table (xb_<table>_tombstones) filled on DELETE, so deletes are found
    without listing the table;
  - on PostgreSQL a NOTIFY on channel xcap_bridge_sql after each change, which wakes
    xcap-bridge at once (MySQL/MariaDB are polled every pollMs).
Re-running is safe. The database user needs the right to create triggers.

Options:
  --connector NAME      the connector (kind: sql) whose table gets the triggers
  --print               print the SQL instead of running it (for a DBA)
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  -h, --help            show this help

Exit status: 0 done, 1 database error, 2 bad usage or configuration.
`;

export const CHECK_CONFIG_HELP = `Usage: xcap-bridge check-config [--config FILE] [--reference]

Validates the configuration, checks that the secrets and files the connectors name are
there (without connecting), and prints the sync bindings it understood. Exit code 2 on
any problem, each reported with the path of the bad key.

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --reference           print the reference of every key and default (docs/configuration.md)
  -h, --help            show this help
`;

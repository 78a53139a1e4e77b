/**
 * The one validated configuration of xcap-bridge. Every key has its default next to it
 * (`@defaultValue`); docs/configuration.md is the reference generated from the same
 * schema (`npx xcap-bridge check-config --reference`).
 *
 * Sources, later wins: defaults < YAML file (`--config`, or ./xcap-bridge.yaml when present)
 * < environment (`XCAP_BRIDGE_*`, see `src/config/load.ts`) < command-line flags.
 */
import { SUBSCRIBER_SCHEMAS } from '../auth/subscriber.ts';
import { legacySchema } from '../migrate/config.ts';
import { z } from 'zod';
import { LENIENCY_FLAGS } from '../http/client-profiles.ts';
import { bindingsSchema } from '../sync/binding.ts';
import { changeFeedSchema } from '../feed/config.ts';
import { phonebookSchema } from '../phonebook/config.ts';

export const serverSchema = z
  .object({
    /**
     * Address to listen on.
     * @defaultValue `127.0.0.1` (use `0.0.0.0` to serve phones on the network)
     */
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on.'),
    /**
     * TCP port.
     * @defaultValue `8080`
     */
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port.'),
    /**
     * Path of the XCAP root. Clients may append `@domain` to it (eyeBeam, Bria).
     * @defaultValue `/xcap-root`
     */
    root: z
      .string()
      .regex(/^\/[^?#@]*[^/?#@]$/, 'must start with "/" and not end with "/"')
      .default('/xcap-root')
      .describe('Path of the XCAP root; clients may append "@domain".'),
    /**
     * Largest request body accepted, in bytes; larger bodies get 413.
     * @defaultValue `1048576` (1 MiB)
     */
    /**
     * Absolute XCAP root URIs clients reach this server by when that is not
     * `http://<Host of the request><root>`: behind a TLS proxy, or under another name or path.
     * An rls-services `<resource-list>` must point below one of these or below the root as the
     * request reached it (RFC 4826 §4.4.5).
     * @defaultValue none
     */
    publicRoots: z
      .array(z.string().regex(/^https?:\/\/[^/?#@]+\/[^?#]*[^/?#]$/i, 'must be an absolute http(s) URI with a path, e.g. https://xcap.example.com/xcap-root'))
      .default([])
      .describe('Absolute XCAP root URIs clients use besides http://<Host><root> (TLS proxy, other name).'),
    /**
     * Largest request body accepted, in bytes; larger bodies get 413. A whole-document PUT
     * of a document holding a list that a pull binding manages may be larger by the size of
     * the stored copy of that list: the server serves it (a 10,000-entry directory is
     * ~1.4 MB) and replaces the client's copy on the way in, so a phone can always save
     * back what it fetched, with this many bytes of its own on top.
     * @defaultValue `1048576` (1 MiB)
     */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024)
      .describe('Largest request body in bytes (413 above); a whole-document PUT of a document with a list a pull binding manages may be larger by the stored size of that list, so phones can save back what they fetched.'),
    /**
     * Deepest element nesting accepted in a document or element PUT body (the root is 1);
     * deeper bodies get 409 constraint-failure before any DOM is built. XCAP documents nest
     * a few levels; libxml2, which validates, stops at 256.
     * @defaultValue `100`
     */
    maxXmlDepth: z
      .number()
      .int()
      .min(2)
      .max(256)
      .default(100)
      .describe('Deepest element nesting accepted in a PUT body (409 constraint-failure above; at most 256).'),
    /**
     * Most attributes, namespace declarations included, on one element of a PUT body;
     * more get 409 constraint-failure before any DOM is built.
     * @defaultValue `100`
     */
    maxXmlAttributes: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe('Most attributes (namespace declarations included) on one element of a PUT body (409 constraint-failure above).'),
    /**
     * Count requests and sync runs and serve them at `GET /metrics` (Prometheus text format,
     * no credentials; docs/troubleshooting.md lists every metric).
     * @defaultValue `true`
     */
    metrics: z.boolean().default(true).describe('Count requests and sync runs and serve them at GET /metrics (Prometheus, no credentials).'),
    /**
     * Worker threads that validate large whole-document PUT bodies, so that one maximum-size
     * body does not hold up other clients while it is validated (each `serve` process has
     * its own). `0` validates every body on the request thread.
     * @defaultValue `1`
     */
    validationThreads: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(1)
      .describe('Threads per serve process that validate large whole-document PUTs off the request thread (0: none, validate inline).'),
    /**
     * Bodies at least this large (in characters) are validated on a validation thread;
     * smaller ones inline, where validating costs less than the hop to a thread.
     * @defaultValue `65536`
     */
    validationThreadMinBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024)
      .describe('Smallest whole-document PUT body (characters) validated on a validation thread; smaller ones are validated inline.'),
    /**
     * HTTP processes `serve` runs, sharing the port: `auto` is one per CPU the process may use
     * (os.availableParallelism()). With more than one, a primary process forks them, stores
     * every XCAP write (so writers of one document take turns on one cached DOM and the
     * SQLite file has one writer) and runs the sync engine; the workers authenticate, read,
     * validate whole-document PUTs and answer. `1` runs everything in one process.
     * `serve --workers` overrides it.
     * @defaultValue `auto`
     */
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(64)])
      .default('auto')
      .describe('HTTP processes sharing the port: auto (one per CPU) or 1-64; with more than one, a primary does the writes and sync.'),
    /**
     * Serve HTTPS instead of plain HTTP, with these PEM files (paths relative to the config
     * file). Every HTTP process of `serve` reads them at start-up and again on SIGHUP: new
     * connections get the new certificate, open ones keep theirs; a file that cannot be used
     * on SIGHUP keeps the old certificate and logs an error naming it.
     * @defaultValue unset (plain HTTP)
     */
    tls: z
      .object({
        /** The server certificate, then any intermediate certificates, in PEM. */
        certFile: z.string().min(1).describe('PEM file: the server certificate, then any intermediates.'),
        /** The certificate's private key in PEM (unencrypted). */
        keyFile: z.string().min(1).describe("PEM file: the certificate's private key (unencrypted)."),
        /**
         * Further CA certificates in PEM, sent with the chain when they complete it (instead
         * of Node's built-in list).
         * @defaultValue unset
         */
        caFile: z.string().min(1).optional().describe('PEM file of CA certificates completing the chain (optional).'),
      })
      .strict()
      .optional()
      .describe('Serve HTTPS with these PEM files (re-read on SIGHUP); unset = plain HTTP.'),
    readCache: z
      .object({
        /**
         * Document ETags each HTTP process keeps (about 150 bytes each), the one read from the
         * database longest ago first out, so that a conditional GET naming the current ETag (a phone's poll) is
         * answered 304 without asking the database. PostgreSQL only: on SQLite every read
         * checks the file's change counter, which costs no query. The change feed keeps them
         * true (`maxStaleMs`); a plain GET, and a poll with another ETag, always ask the
         * database. `0`: every poll reads the document's ETag from the database.
         * @defaultValue `100000`
         */
        etags: z.number().int().min(0).default(100_000).describe('Document ETags kept per HTTP process so a poll with the current one gets 304 without a query (PostgreSQL; 0: none).'),
        /**
         * How late a poll may see a change another process made, in milliseconds: a kept
         * ETag answers only while this process has read the change feed up to date within
         * this time (it reads on every NOTIFY, and every `changeFeed.sse.pollMs` where NOTIFY
         * does not reach). Writes through this process are seen at once. Keep it well above
         * `changeFeed.sse.pollMs`, or polls fall back to the database whenever a read is late.
         * @defaultValue `1000`
         */
        maxStaleMs: z.number().int().positive().default(1000).describe("How late (ms) a poll may see another process's change: kept ETags answer only while the change feed was read up to date within this."),
        /**
         * Bytes of stored documents each HTTP process keeps, least recently read first out,
         * so that a GET answers with the bytes it answered with before (after checking the
         * ETag) instead of reading the body again.
         * @defaultValue `33554432` (32 MiB)
         */
        bytes: z.number().int().min(0).default(32 * 1024 * 1024).describe('Bytes of stored documents kept per HTTP process for GETs (the ETag is still checked).'),
      })
      .strict()
      .prefault({})
      .describe('What each HTTP process keeps between requests for GETs (docs/scaling.md).'),
    /**
     * Seconds to wait for in-flight requests on SIGTERM before closing anyway.
     * @defaultValue `10`
     */
    shutdownGraceSeconds: z.number().positive().default(10).describe('Seconds SIGTERM waits for in-flight requests.'),
  })
  .strict()
  .prefault({})
  .describe('HTTP listener.');

export const storeSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('sqlite'),
        /**
         * Directory holding `xcap.sqlite`; created if missing.
         * @defaultValue `./data`
         */
        dataDir: z.string().min(1).default('./data').describe('Directory for the SQLite file (created if missing).'),
        /**
         * What a write's 2xx has survived. `power-loss`: the write is on disk (the WAL is
         * fdatasync'd before the answer; one flush serves every write that arrived while the
         * previous flush ran, so concurrent writers share it). `process-crash`: no flush per
         * write; a 2xx survives the server process dying, but a power loss or kernel crash
         * may lose the last writes before it (never the file's consistency). Faster on a disk
         * with slow flushes.
         * @defaultValue `power-loss`
         */
        durability: z
          .enum(['power-loss', 'process-crash'])
          .default('power-loss')
          .describe("What a write's 2xx survives: power-loss (fdatasync'd, group commit) or process-crash (no flush per write; a power loss may lose the last writes)."),
      })
      .strict(),
    z
      .object({
        kind: z.literal('postgres'),
        /** `postgres://user:pass@host:port/db`. No default: required with kind postgres. */
        url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').describe('PostgreSQL connection URL.'),
      })
      .strict(),
  ])
  .prefault({ kind: 'sqlite' })
  .describe('Where documents, users and sync state live: embedded SQLite or PostgreSQL.');

const subscriberSchema = z
  .object({
    /** `postgres://...` or `mysql://...` (mariadb:// too); `${VAR}` references the environment. */
    url: z.string().min(1).describe('Database URL: postgres://... or mysql://... (the legacy server\'s database).'),
    /**
     * Whose columns: `kamailio` and `opensips` (up to 3.1: ha1, ha1b), `opensips32` (ha1,
     * ha1_sha256), `openxcap` (ha1).
     * @defaultValue `kamailio`
     */
    schema: z.enum(SUBSCRIBER_SCHEMAS).default('kamailio').describe('kamailio | opensips (<= 3.1: ha1, ha1b) | opensips32 (ha1, ha1_sha256) | openxcap (ha1).'),
    /** @defaultValue `subscriber` */
    table: z.string().min(1).default('subscriber').describe('Table name.'),
    /** Column names other than the schema's (OpenXCAP's user_col, domain_col, ha1_col...). */
    columns: z
      .object({
        username: z.string().min(1).optional().describe('User part column (default username).'),
        domain: z.string().min(1).optional().describe('Domain column (default domain).'),
        ha1: z.string().min(1).optional().describe('MD5 HA1 for the login user (default ha1).'),
        ha1b: z.string().min(1).optional().describe('MD5 HA1 for the login user@domain (default ha1b on kamailio/opensips).'),
        ha1Sha256: z.string().min(1).optional().describe('SHA-256 HA1 (default ha1_sha256 on opensips32).'),
        ha1Sha512t256: z.string().min(1).optional().describe('SHA-512/256 HA1 (default ha1_sha512t256 on opensips32).'),
      })
      .strict()
      .default({})
      .describe('Column names other than the schema\'s.'),
    /**
     * A plaintext password column, where the legacy setup kept one (`password`): then any
     * realm and SHA-256 work too.
     * @defaultValue unset (HA1 columns only)
     */
    passwordColumn: z.string().min(1).optional().describe('Plaintext password column, where kept (e.g. password).'),
    /** @defaultValue `[]` */
    admins: z.array(z.string().min(1)).default([]).describe('XUIs of this table that are admins.'),
  })
  .strict();

export const authSchema = z
  .object({
    /**
     * Digest realm. When unset the realm is the domain of the XUI in the request URI
     * (as phones expect: user `alice`, realm `example.com`), or the deployment's domain
     * (`defaultDomain`) for the global tree.
     * @defaultValue unset
     */
    realm: z.string().min(1).optional().describe('Digest realm; unset = the domain of the XUI in the URI, else defaultDomain.'),
    /**
     * The deployment's domain: realm of the global tree (xcap-caps, rls-services global/index,
     * the admin API) and domain of XUIs given without one (`users/alice/...`). When unset it is
     * the one realm all users share (clients register their password for realm = SIP domain),
     * `localhost` while there are no users (or when `realm` is set). Required once users are in
     * two realms: `serve` refuses to start and `user add` to add the second without it.
     * @defaultValue the users' realm
     */
    defaultDomain: z
      .string()
      .min(1)
      .optional()
      .describe('Realm of the global tree and domain of XUIs without one; unset = the one realm all users share (required once there are two).'),
    /**
     * Accept HTTP Basic as well as Digest: on HTTPS connections, and on plain HTTP only with
     * `allowBasicOverHttp`.
     * @defaultValue `true`
     */
    allowBasic: z.boolean().default(true).describe('Accept HTTP Basic on HTTPS connections (see allowBasicOverHttp for plain HTTP).'),
    /**
     * Accept Basic on plain-HTTP connections too. Off, a plain-HTTP request with Basic
     * credentials gets 401 saying why, and the challenge offers Digest only; HTTPS
     * connections (`server.tls`) accept Basic whenever `allowBasic` is on. Turn it on behind
     * a TLS-terminating proxy whose clients send Basic, or for tests on loopback.
     * `XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP=true` sets it.
     * @defaultValue `false`
     */
    allowBasicOverHttp: z
      .boolean()
      .default(false)
      .describe('Accept Basic on plain-HTTP connections too (behind a TLS proxy); off: 401 with a Digest challenge only.'),
    /**
     * Lifetime of a Digest nonce in seconds; older nonces get a `stale=true` challenge.
     * @defaultValue `300`
     */
    nonceTtlSeconds: z.number().int().positive().default(300).describe('Digest nonce lifetime in seconds.'),
    /**
     * Secret signing Digest nonces, so every replica accepts every other's nonces.
     * Hex or any string; set it when running more than one replica. `serve --workers N`
     * shares one random secret among its workers without it.
     * @defaultValue random per process (per `serve`, with `--workers`)
     */
    nonceSecret: z.string().min(16).optional().describe('Secret signing nonces; set it for several replicas (serve --workers shares one without it).'),
    /**
     * Seconds each HTTP process reuses a user found by their login (their HA1s), so that a
     * phone polling every few minutes costs no user lookup per poll. Credentials a cached
     * user fails are checked against the user sources once more, so a new password (or a
     * new user) works at once wherever it was set. A user of the local user table removed
     * or given a new password (`user remove`, the admin API) is refused with the old one by
     * every process within a second: each reads the table's change mark at most once a
     * second. Users of an htdigest file or a legacy subscriber table: at once by a process
     * whose admin API made the change, by the others after at most this long. "No such
     * user" is reused for 5 seconds at most.
     * @defaultValue `300`
     */
    loginCacheSeconds: z.number().min(0).default(300).describe('Seconds a found user is reused per process; a new password works at once; a local user removed or given a new password is refused everywhere within a second (htdigest and subscriber users: after at most this).'),
    /**
     * Most logins each HTTP process keeps (about 500 bytes each), oldest first out; above
     * the number of active users, polls past it ask the user table again.
     * @defaultValue `100000`
     */
    loginCacheSize: z.number().int().min(1).default(100_000).describe('Most logins kept per HTTP process (about 500 bytes each).'),
    /**
     * Apache htdigest file used in addition to the local user table.
     * @defaultValue unset
     */
    htdigestFile: z.string().min(1).optional().describe('Apache htdigest file, in addition to the local users.'),
    /**
     * A legacy `subscriber` table (Kamailio, OpenSIPS, OpenXCAP) as a user source, after the
     * local users: users log in with their old passwords. Its HA1s were made with realm =
     * the user's SIP domain, so leave `realm` unset (docs/migration.md).
     * @defaultValue unset
     */
    subscriber: subscriberSchema.optional().describe('Legacy subscriber table as a user source (realm must stay the SIP domain).'),
  })
  .strict()
  .prefault({})
  .describe('Authentication (Digest, Basic) and users.');

export const clientProfileSchema = z
  .object({
    /** Regular expression matched against the User-Agent header. */
    userAgent: z.string().min(1).describe('Regular expression matched against User-Agent.'),
    /**
     * Leniency flags for this client (docs/clients.md): `entry-without-uri` (Snom/Bria entries
     * carrying cp:prop pairs), `untyped-document` (whole-document PUTs without a Content-Type
     * or with urllib's form default, as python3-xcaplib sends them).
     */
    lenient: z.array(z.enum(LENIENCY_FLAGS)).default([]).describe('Leniency flags for this client (docs/clients.md).'),
  })
  .strict();

export const usagesSchema = z
  .object({
    /**
     * Largest org.openmobilealliance.pres-content document (avatar) in bytes.
     * @defaultValue `307200` (300 KiB)
     */
    presContentMaxBytes: z.number().int().positive().default(300 * 1024).describe('Largest pres-content (avatar) document in bytes.'),
    /** Application usages declared without code (device configuration and the like). */
    custom: z
      .array(
        z
          .object({
            auid: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').describe('Application unique id: the first path segment after the root.'),
            namespace: z.string().min(1).describe('Default document namespace (unprefixed selector steps match it).'),
            mimeType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type').describe('MIME type of whole documents (PUT Content-Type, GET answer).'),
            /** XSD file validating every document of this usage (path relative to the config file). */
            xsd: z.string().min(1).describe('XSD file validating every document (relative to the config file).'),
            scopes: z
              .object({
                global: z.boolean().default(false).describe('Documents under global/ (writable by admins only).'),
                users: z.boolean().default(true).describe('Documents under users/<xui>/.'),
              })
              .strict()
              .prefault({})
              .describe('Where documents of this usage may live.'),
            /** Allowed document names; any name when unset. */
            documentNames: z.array(z.string().min(1)).optional().describe('Allowed document names; any when unset.'),
          })
          .strict(),
      )
      .default([])
      .describe('Application usages declared in config.'),
  })
  .strict()
  .prefault({})
  .describe('Application usages.');

export const redisSchema = z
  .object({
    /**
     * Redis for the sync queue. Without a reachable Redis the server still serves XCAP.
     * @defaultValue `redis://127.0.0.1:6379` (or `REDIS_URL`)
     */
    url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379').describe('Redis URL for the sync queue.'),
    /**
     * Redis Cluster nodes to start from (`host:port` or `redis://[user:password@]host:port`);
     * when given, `url` is not used. The rest of the cluster is discovered from them.
     * @defaultValue none (a single Redis at `url`)
     */
    cluster: z
      .array(z.string().regex(/^(rediss?:\/\/([^@/]*@)?)?[^:/@]+:\d+\/?$/, 'expected host:port or redis://[user:password@]host:port'))
      .min(1)
      .optional()
      .describe('Redis Cluster nodes (host:port, or redis://[user:password@]host:port) to start from; when given, url is not used and the key prefix becomes a hash tag ({prefix}).'),
    /**
     * Key prefix of every queue key. On a cluster it is wrapped in braces (`{xcap-bridge}`)
     * so that every key of the queue hashes to one slot, as BullMQ needs; a prefix with a
     * `{...}` part already is used as it is.
     * @defaultValue `xcap-bridge`
     */
    prefix: z.string().min(1).default('xcap-bridge').describe('Key prefix for queue keys (a hash tag {prefix} on a cluster).'),
  })
  .strict()
  .prefault({})
  .describe('Redis for the sync queue.');

export const workerSchema = z
  .object({
    /**
     * Port of a small HTTP listener of `xcap-bridge worker` serving `GET /metrics` (the sync
     * runs, items, conflicts and errors this worker counted, and its process metrics) and
     * `GET /healthz`, without credentials. `worker --metrics-port` overrides it; `0` picks a
     * free port (logged).
     * @defaultValue unset (no listener)
     */
    metricsPort: z.number().int().min(0).max(65535).optional().describe('Port of the worker\'s GET /metrics and /healthz listener (no credentials); unset = none.'),
    /**
     * Address the worker's metrics listener binds to (`0.0.0.0` for a Prometheus on another host).
     * @defaultValue `127.0.0.1`
     */
    metricsHost: z.string().min(1).default('127.0.0.1').describe("Address of the worker's metrics listener."),
  })
  .strict()
  .prefault({})
  .describe('The separate sync process, `xcap-bridge worker`.');

export const logSchema = z
  .object({
    /**
     * pino level: fatal, error, warn, info, debug, trace, silent.
     * @defaultValue `info`
     */
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level.'),
    /**
     * Which requests get a line (method, url, status, ms, request id): `all`; `sampled`, every
     * request except quick successful reads, and one in `sampleReads` of all successful reads
     * (phones' polls are most of the traffic); `off`. `true` and `false` mean `all` and `off`.
     * @defaultValue `sampled`
     */
    requests: z
      .union([z.enum(['all', 'sampled', 'off']), z.boolean()])
      .transform((v) => (v === true ? 'all' : v === false ? 'off' : v))
      .prefault('sampled')
      .describe('Which requests get a line: all; sampled (every write, error and read of 100 ms or more, one in sampleReads of the successful reads, docs/operations.md "Log"); off. true = all, false = off.'),
    /**
     * With `requests: sampled`, one successful read (GET or HEAD answered 2xx or 304) in this
     * many is logged, per process, its line saying `"sampled":N`; the others only when they
     * took 100 ms or more.
     * @defaultValue `100`
     */
    sampleReads: z.number().int().min(1).max(1_000_000).default(100).describe('requests: sampled: one successful read (GET/HEAD, 2xx or 304) in this many gets its line (with "sampled":N), per process.'),
    /**
     * `serve` writes its lines in batches (one write(2) for up to ~64 KB of lines; error lines
     * and exit at once) instead of one write per line: a line reaches the output at most this
     * many milliseconds after it was logged, and a process killed outright (SIGKILL) loses
     * its last flushMs of lines. 0: every line is written as it is logged.
     * @defaultValue `250`
     */
    flushMs: z.number().int().min(0).max(60000).default(250).describe('serve: milliseconds a log line may wait to be written with others, one write per batch (docs/operations.md, "Log"); 0 writes each line as it is logged.'),
  })
  .strict()
  .prefault({})
  .describe('Logging (pino JSON lines on stdout).');

export const configSchema = z
  .object({
    server: serverSchema,
    store: storeSchema,
    auth: authSchema,
    /**
     * Client profiles by name, in addition to the built-in ones (docs/clients.md); a name of a
     * built-in profile replaces it: `clients: { snom: { userAgent: "^snom", lenient: [entry-without-uri] } }`.
     */
    clients: z.record(z.string(), clientProfileSchema).default({}).describe('Client profiles by name, besides the built-in ones (docs/clients.md).'),
    usages: usagesSchema,
    redis: redisSchema,
    log: logSchema,
    worker: workerSchema,
    changeFeed: changeFeedSchema,
    /** Remote stores by name; see docs/sync.md. */
    connectors: z.record(z.string(), z.looseObject({ kind: z.string() })).default({}).describe('Remote stores by name.'),
    /** Sync bindings: which XCAP documents stay in step with which connector; see docs/sync.md. */
    bindings: bindingsSchema.describe('Sync bindings.'),
    /** Vendor phonebooks (Yealink, Grandstream, Polycom, Snom, Cisco) served from the store; see docs/phonebooks.md. */
    phonebook: phonebookSchema,
    /** A legacy XCAP server's `xcap` table kept in step while both run; see docs/migration.md. @defaultValue unset */
    legacy: legacySchema.optional().describe('Legacy xcap table kept in step while both servers run (docs/migration.md).'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

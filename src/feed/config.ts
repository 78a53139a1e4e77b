/**
 * The `changeFeed:` section: how long the store keeps its change feed, the `/xcap-diff`
 * event stream, webhook endpoints and presence servers told about changes. One schema, its
 * defaults beside each field (docs/configuration.md is generated from it).
 */
import { z } from 'zod';

/** Which documents a consumer of the feed hears about; every given list must match. */
export const feedFilterSchema = z
  .object({
    /** Application usages (auids); any when unset. */
    auids: z.array(z.string().min(1)).optional().describe('Application usages (auids); any when unset.'),
    /** User XUIs (`sip:alice@example.com`); any user, and the global tree, when unset. */
    users: z.array(z.string().min(1)).optional().describe('User XUIs; any (and the global tree) when unset.'),
    /**
     * Documents by selector relative to the XCAP root, as xcap-diff's `sel` writes them:
     * `resource-lists/users/sip:alice@example.com/index`, `rls-services/global/index`.
     */
    documents: z.array(z.string().min(1)).optional().describe('Document selectors relative to the XCAP root (auid/users/xui/path or auid/global/path); any when unset.'),
  })
  .strict();

export const webhookSchema = z
  .object({
    /** Name in `sync status` and the admin API. */
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').describe('Name shown in sync status and the admin API.'),
    /** Where each change is POSTed. */
    url: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL').describe('URL each change is POSTed to.'),
    /**
     * Signing secret in the Standard Webhooks form `whsec_<base64>` (at least 24 bytes once
     * decoded). Use `${ENV_VAR}` to keep it out of the file.
     */
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
      .refine((s) => Buffer.from(s.slice(6), 'base64').length >= 24, 'the secret must decode to at least 24 bytes')
      .describe('Signing secret, whsec_<base64> (Standard Webhooks).'),
    filter: feedFilterSchema.prefault({}).describe('Which documents this endpoint hears about.'),
    /**
     * Milliseconds before a delivery attempt is abandoned (and retried).
     * @defaultValue `10000`
     */
    timeoutMs: z.number().int().positive().default(10_000).describe('Milliseconds before a delivery attempt is abandoned and retried.'),
  })
  .strict();

export const presenceServerSchema = z
  .object({
    /** Name in `sync status` and the admin API. */
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').describe('Name shown in sync status and the admin API.'),
    /**
     * `kamailio`: JSON-RPC over xhttp (module jsonrpcs); `opensips`: MI over HTTP (module
     * mi_http, JSON-RPC 2.0).
     */
    kind: z.enum(['kamailio', 'opensips']).describe('kamailio (jsonrpcs over xhttp) or opensips (mi_http).'),
    /** The RPC endpoint: `http://127.0.0.1:5060/RPC` (Kamailio), `http://127.0.0.1:8888/mi` (OpenSIPS). */
    url: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL').describe('RPC endpoint URL (Kamailio jsonrpcs path, OpenSIPS /mi).'),
    filter: feedFilterSchema.prefault({}).describe('Which documents this server hears about.'),
    /**
     * OpenSIPS only: also `pua_publish` the xcap-diff body with event `xcap-diff`, so
     * presence_xcapdiff serves RFC 5875 subscriptions.
     * @defaultValue `false`
     */
    publishXcapDiff: z.boolean().default(false).describe('OpenSIPS: also pua_publish the xcap-diff body (event xcap-diff).'),
    /**
     * Milliseconds changes of one user are gathered before the server is called once for them.
     * @defaultValue `200`
     */
    coalesceMs: z.number().int().min(0).default(200).describe('Milliseconds changes of one user are gathered before one call.'),
    /**
     * Milliseconds before an RPC call is abandoned (and retried).
     * @defaultValue `5000`
     */
    timeoutMs: z.number().int().positive().default(5000).describe('Milliseconds before an RPC call is abandoned and retried.'),
  })
  .strict();

export const changeFeedSchema = z
  .object({
    /**
     * Absolute XCAP root written as `xcap-root` in xcap-diff bodies sent to webhooks and
     * presence servers (SSE clients get the root they connected to).
     * @defaultValue the first of `server.publicRoots`, else `http://<server.host>:<server.port><server.root>`
     */
    xcapRoot: z.string().regex(/^https?:\/\/[^/?#]+\/[^?#]*$/i, 'must be an absolute http(s) URI').optional().describe('XCAP root written in xcap-diff bodies for webhooks and presence servers.'),
    /**
     * Milliseconds between reads of the change feed by the sync engine and the webhook and
     * presence dispatcher, for changes other processes wrote. On one PostgreSQL its NOTIFY
     * wakes them at once and this is the safety net; where NOTIFY does not reach (SQLite
     * across processes, a sharded PostgreSQL whose writes commit on other nodes, a
     * transaction-pooling proxy) this bounds how late they see a change.
     * @defaultValue `250`
     */
    pollMs: z.number().int().min(10).default(250).describe("Milliseconds between reads of the feed by sync and the hook dispatcher for other processes' changes (bounds their delay where NOTIFY does not reach)."),
    retention: z
      .object({
        /**
         * Change-feed rows older than this many seconds are pruned.
         * @defaultValue `604800` (7 days)
         */
        maxAgeSeconds: z.number().int().positive().default(7 * 24 * 3600).describe('Prune change-feed rows older than this many seconds.'),
        /**
         * At most this many of the newest change-feed rows are kept.
         * @defaultValue `1000000`
         */
        maxCount: z.number().int().positive().default(1_000_000).describe('Keep at most this many of the newest change-feed rows.'),
        /**
         * Seconds between pruning passes.
         * @defaultValue `60`
         */
        pruneEverySeconds: z.number().positive().default(60).describe('Seconds between pruning passes.'),
      })
      .strict()
      .prefault({})
      .describe('How long the change feed is kept. A reader (sync, a stream, the hook dispatcher) whose position was pruned reads the state whole.'),
    sse: z
      .object({
        /**
         * Changes within this many milliseconds of the first are sent as one event
         * (per document: the first previous-etag, the last new-etag). The window opens when
         * a process's feed reader first sees a change, once for all its streams; it is the
         * floor of the time a change takes to reach a stream, and caps a stream at
         * 1000/coalesceMs events per second. `0`: every read of the feed is its own event.
         * @defaultValue `10`
         */
        coalesceMs: z.number().int().min(0).default(10).describe('Changes within this many milliseconds of the first go out as one event (once per process, for all streams).'),
        /**
         * Seconds between heartbeat comments on an idle stream.
         * @defaultValue `15`
         */
        heartbeatSeconds: z.number().positive().default(15).describe('Seconds between heartbeat comments on an idle stream.'),
        /**
         * Milliseconds between reads of the feed for changes other processes wrote (SQLite
         * cannot notify; PostgreSQL's NOTIFY arrives at once, this is its safety net).
         * @defaultValue `100`
         */
        pollMs: z.number().int().positive().default(100).describe('Milliseconds between reads of the feed for other processes\' changes.'),
      })
      .strict()
      .prefault({})
      .describe('GET /xcap-diff, the server-sent event stream of changes.'),
    delivery: z
      .object({
        /**
         * Attempts per webhook delivery or presence-server call before the job is marked
         * failed (the next change to the same document or user tries again).
         * @defaultValue `15`
         */
        attempts: z.number().int().positive().default(15).describe('Attempts per delivery before it is marked failed (the next change retries).'),
        /**
         * First retry delay in milliseconds, doubling each attempt (15 attempts reach ~4.5 h).
         * @defaultValue `1000`
         */
        backoffMs: z.number().int().positive().default(1000).describe('First retry delay in milliseconds, doubling each attempt.'),
        /**
         * Jobs one process runs at once; within one webhook job (a dispatched batch), the
         * documents delivered at once; and the most connections kept open to one webhook
         * endpoint. Each document's changes still go one after another.
         * @defaultValue `32`
         */
        concurrency: z.number().int().positive().default(32).describe('Jobs run at once per process, documents delivered at once per webhook batch, and connections per webhook endpoint.'),
      })
      .strict()
      .prefault({})
      .describe('How webhooks and presence-server calls are retried (BullMQ on the sync Redis).'),
    /** Endpoints each change is POSTed to, signed per Standard Webhooks 1.0 (docs/change-feed.md). */
    webhooks: z.array(webhookSchema).default([]).describe('Webhook endpoints (docs/change-feed.md).'),
    /** Presence servers told to re-read documents after a change (docs/change-feed.md). */
    presenceServers: z.array(presenceServerSchema).default([]).describe('Presence servers refreshed after a change (docs/change-feed.md).'),
  })
  .strict()
  .prefault({})
  .superRefine((c, ctx) => {
    const names = [...c.webhooks.map((w) => w.name), ...c.presenceServers.map((p) => p.name)];
    for (const [i, n] of names.entries()) if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', message: `the name ${n} is used twice (webhooks and presence servers share one namespace)` });
  })
  .describe('The change feed: retention, the /xcap-diff stream, webhooks, presence servers.');

export type ChangeFeedConfig = z.infer<typeof changeFeedSchema>;
export type FeedFilter = z.infer<typeof feedFilterSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type PresenceServerConfig = z.infer<typeof presenceServerSchema>;

/**
 * The `changeFeed:` section: how long the store keeps its change feed and the `/xcap-diff`
 * event stream. One schema, its
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

export const changeFeedSchema = z
  .object({
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
      .describe('How long the change feed is kept. A reader (sync, a stream) whose position was pruned reads the state whole.'),
    sse: z
      .object({
        /**
         * Changes within this many milliseconds of the first are sent as one event
         * (per document: the first previous-etag, the last new-etag).
         * @defaultValue `20`
         */
        coalesceMs: z.number().int().min(0).default(20).describe('Changes within this many milliseconds of the first go out as one event.'),
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
  })
  .strict()
  .prefault({})
  .describe('The change feed: retention and the /xcap-diff stream.');

export type ChangeFeedConfig = z.infer<typeof changeFeedSchema>;
export type FeedFilter = z.infer<typeof feedFilterSchema>;

/**
 * The sync queue's dashboard (bull-board) at `/admin/queues/`, behind the admin API's own
 * authentication (admins only, checked before bull-board sees the request). It reads the
 * queue through a connection of its own, so it works in every process that serves HTTP,
 * whether or not that process runs the sync engine; absent when no binding is configured.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type express from 'express';
import type { Logger } from '../../log.ts';
import { QUEUE_NAME } from '../../sync/queue.ts';
import { createRedisConnection, queuePrefix, type RedisTarget } from '../../sync/redis-connection.ts';
import type { AdminKit } from '../admin.ts';

export const QUEUES_PATH = '/admin/queues';

export interface QueueRoutesOptions {
  /** The sync queue's Redis (server or cluster) and configured key prefix; `undefined` (no bindings): no dashboard. */
  readonly queueRedis: (RedisTarget & { readonly prefix: string }) | undefined;
  readonly log: Logger;
}

/** Mounts the dashboard; resolves the closer of its Redis connection (call it on shutdown). */
export function mountQueueDashboard(app: express.Express, kit: AdminKit, opts: QueueRoutesOptions): () => Promise<void> {
  const redis = opts.queueRedis;
  if (!redis) return async () => {};
  // A connection of ours, not one BullMQ makes: BullMQ's close and disconnect wait for its
  // own reconnection first, which after a Redis restart was seen never to end.
  const conn = createRedisConnection(redis, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const queue = new Queue(QUEUE_NAME, { connection: conn, prefix: queuePrefix(redis.prefix, redis) });
  // Redis away: the dashboard's requests fail; the server must not.
  queue.on('error', (err: Error) => opts.log.debug({ err: err.message }, 'queue dashboard: Redis'));
  const board = new ExpressAdapter();
  board.setBasePath(QUEUES_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: false })], serverAdapter: board, options: { uiConfig: { boardTitle: 'xcap-bridge sync' } } });
  app.use(QUEUES_PATH, (req, res, next) => {
    kit.admin(req).then(() => next(), (err: unknown) => kit.fail(err, req, res));
  }, board.getRouter() as express.Router);
  // Nothing of the dashboard's is pending once HTTP has drained: the connection is dropped.
  return async () => conn.disconnect();
}

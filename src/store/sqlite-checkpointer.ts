/**
 * The SQLite store's checkpoint thread (a worker_threads module, started by sqlite.ts).
 *
 * It has its own connection to the file, so copying WAL frames into the database and the
 * fsyncs around that copy happen off the event loop. Its connection is synchronous=NORMAL:
 * in WAL mode SQLite then syncs the WAL before a checkpoint and the database file after it,
 * before the WAL may be rewritten from the start; the serving connection, which may run
 * with synchronous=OFF, never checkpoints except as the inline fallback.
 *
 * Protocol: the parent posts `{ path }` in workerData; each message it posts asks for one
 * PASSIVE checkpoint, answered with `{ busy, log, checkpointed }` (SQLite's three numbers:
 * whether a lock stopped it, frames in the WAL, frames copied) or `{ error }`.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const { path } = workerData as { path: string };
const db = new DatabaseSync(path);
// Blocking here is this thread's job; the busy wait never reaches the event loop.
db.exec('PRAGMA busy_timeout = 5000');
db.exec('PRAGMA synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

parentPort?.on('message', () => {
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    parentPort?.postMessage({ busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});

import type { Worker } from 'node:cluster';

/**
 * Sends `msg` to an HTTP worker if its IPC channel is still open. A worker that died
 * meanwhile has no one waiting for the message; one that is exiting can close its channel
 * under us (EPIPE), which without a callback becomes an uncaught 'error' on the Worker.
 */
export function sendToWorker(worker: Worker, msg: unknown): void {
  if (worker.isConnected()) worker.send(msg as object, undefined, ignoreClosedChannel);
}

/**
 * Sends `msg` from an HTTP worker to the primary. `failed` hears of a primary that is gone
 * or a channel closed under us (EPIPE), which without a callback is an uncaught 'error'.
 */
export function sendToPrimary(msg: unknown, failed: (err: Error) => void = ignoreClosedChannel): void {
  if (!process.connected || process.send === undefined) return failed(new Error('the primary process is gone'));
  process.send(msg, undefined, undefined, (err: Error | null) => {
    if (err) failed(err);
  });
}

function ignoreClosedChannel(): void {}

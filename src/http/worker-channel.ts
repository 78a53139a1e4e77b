import type { Worker } from 'node:cluster';

/**
 * Sends `msg` to an HTTP worker if its IPC channel is still open. A worker that died
 * meanwhile has no one waiting for the message; one that is exiting can close its channel
 * under us (EPIPE), which without a callback becomes an uncaught 'error' on the Worker.
 */
export function sendToWorker(worker: Worker, msg: unknown): void {
  if (worker.isConnected()) worker.send(msg as object, undefined, ignoreClosedChannel);
}

function ignoreClosedChannel(): void {}

/**
 * An HTTP listener with only the probes (`/healthz`, `/readyz`, `/metrics`; probes.ts), for a
 * process that serves no XCAP: `xcap-bridge worker` (`worker.metricsPort`), so Prometheus can
 * scrape the sync runs that process counts and an orchestrator can probe it.
 */
import { createServer } from 'node:http';
import express from 'express';
import { mountProbes, type ProbeOptions } from './probes.ts';
import { listenOn } from './server.ts';

export interface ProbeListener {
  /** The bound port (0 resolved). */
  readonly port: number;
  /** Stops listening and closes open connections (scrapes are short). */
  close(): Promise<void>;
}

export async function listenProbes(host: string, port: number, opts: ProbeOptions): Promise<ProbeListener> {
  const app = express();
  app.disable('x-powered-by');
  mountProbes(app, opts);
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  const server = createServer(app);
  return {
    port: await listenOn(server, host, port),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/**
 * One scrape, every process: with `serve --workers N` a scrape lands on one HTTP worker,
 * which asks the primary; the primary collects every worker's metrics over the cluster IPC
 * channel, adds its own (the sync engine and the scrape-time gauges live there) and sums
 * them (prom-client's aggregation: counters and histograms add up, process start time is
 * left out, event-loop lag is averaged). The worker answers with the result.
 *
 * Messages are typed `xcap-bridge:metrics-*` so they never meet another module's IPC.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Metrics } from './registry.ts';
import { sendToPrimary, sendToWorker } from '../http/worker-channel.ts';

const SCRAPE = 'xcap-bridge:metrics-scrape';
const COLLECT = 'xcap-bridge:metrics-collect';
const COLLECTED = 'xcap-bridge:metrics-collected';
const ANSWER = 'xcap-bridge:metrics-answer';
/** A worker that does not answer within this many milliseconds is left out of the scrape. */
const WORKER_WAIT_MS = 3000;

/** One process's metrics as `registry.getMetricsAsJSON()` gives them. */
type MetricsJson = object[];
interface Message {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly metrics?: MetricsJson;
  readonly text?: string;
  readonly error?: string;
}

/**
 * In the primary: answers the workers' scrapes with the sum over every process. Returns a
 * function that stops answering.
 */
export function serveClusterMetrics(primary: Metrics): () => void {
  let next = 0;
  const waiting = new Map<number, (m: MetricsJson) => void>();
  const collect = (w: Worker): Promise<MetricsJson | undefined> => {
    const id = next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve(undefined);
      }, WORKER_WAIT_MS);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(m);
      });
      sendToWorker(w, { type: COLLECT, id });
    });
  };
  const onMessage = (from: Worker, msg: Message) => {
    if (msg?.type === COLLECTED && typeof msg.id === 'number') {
      waiting.get(msg.id)?.(msg.metrics ?? []);
    } else if (msg?.type === SCRAPE) {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      Promise.all([primary.registry.getMetricsAsJSON(), ...workers.map(collect)])
        .then((all) => AggregatorRegistry.aggregate(all.filter((m): m is MetricsJson => m !== undefined)).metrics())
        .then(
          (text) => sendToWorker(from, { type: ANSWER, id: msg.id, text }),
          (err: unknown) => sendToWorker(from, { type: ANSWER, id: msg.id, error: (err as Error).message }),
        );
    }
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}

/**
 * In an HTTP worker: answers the primary's collection requests with this process's
 * metrics, and returns the scrape function that asks the primary for the whole.
 */
export function workerScrape(local: Metrics): () => Promise<string> {
  let next = 0;
  const answers = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (msg: Message) => {
    if (msg?.type === COLLECT) {
      void local.registry.getMetricsAsJSON().then((metrics) => sendToPrimary({ type: COLLECTED, id: msg.id, metrics }));
    } else if (msg?.type === ANSWER && typeof msg.id === 'number') {
      const a = answers.get(msg.id);
      answers.delete(msg.id);
      if (msg.error !== undefined) a?.reject(new Error(msg.error));
      else a?.resolve(msg.text ?? '');
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        answers.delete(id);
        reject(new Error('the primary process did not answer the metrics scrape'));
      }, WORKER_WAIT_MS * 2);
      answers.set(id, {
        resolve: (t) => (clearTimeout(timer), resolve(t)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      sendToPrimary({ type: SCRAPE, id }, (err) => {
        answers.get(id)?.reject(err);
        answers.delete(id);
      });
    });
}

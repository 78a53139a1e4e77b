/**
 * What the request log adds to one request in-process, per `log.requests` mode: the work
 * src/http/xcap-handler.ts does for the log (the clock at the start, a reaction on the
 * answer's promise, the line's fields, `requestLogger`) against the same promise answered
 * without it, for a run of phone polls (GET answered 304) and one of element PUTs (201).
 * Lines go through the logger `serve` uses (batched, `log.flushMs` 250) to a temporary file.
 * Prints CPU nanoseconds per request over the log-off loop, the median of `--rounds`
 * interleaved rounds; bench/request-log.ts compares two whole servers, whose noise (an A/A
 * pair differs by ±4–8% there) is larger than what it measures.
 *
 *   npx node bench/request-line.ts [--requests 1000000] [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, requestLogger, type RequestLine, type RequestLogOptions } from '../src/log.ts';
import { tempDir } from '../test/services/process.ts';
import { median } from './wrk.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.requests);
const ROUNDS = Number(values.rounds);

// The logger writes to fd 1, as serve's does: the measuring process runs with fd 1 a file.
if (process.env.REQUEST_LINE_MEASURE !== '1') {
  const dir = tempDir('request-line');
  const fd = openSync(join(dir, 'out.log'), 'w');
  try {
    const r = spawnSync(process.execPath, [import.meta.filename, ...process.argv.slice(2)], { stdio: ['ignore', fd, 'inherit'], env: { ...process.env, REQUEST_LINE_MEASURE: '1' } });
    process.exitCode = r.status ?? 1;
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  await measure();
}

async function measure(): Promise<void> {
  const log = createLogger('info', { flushMs: 250 });
  // Made by the handler whether or not it logs, so not counted here.
  const REQ_ID = '1a2b-3c';
  const url = '/xcap-root/resource-lists/users/sip:user42@example.com/index';

  /** CPU nanoseconds per request of `n` requests answered at once, logged by `line` (undefined: off). */
  async function loop(n: number, method: string, status: number, line: ((l: RequestLine) => void) | undefined): Promise<number> {
    const answered = Promise.resolve();
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      if (line === undefined) {
        await answered;
        continue;
      }
      const started = performance.now();
      await answered.then(() => {
        line({ reqId: REQ_ID, method, url, status, ms: Math.round((performance.now() - started) * 100) / 100 });
      });
    }
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) * 1000) / n;
  }

  const modes: ReadonlyArray<RequestLogOptions['requests']> = ['sampled', 'all'];
  const cases = [
    { name: 'poll (GET, 304)', method: 'GET', status: 304 },
    { name: 'element PUT (201)', method: 'PUT', status: 201 },
  ];
  const results = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of cases) {
      const off = await loop(N, c.method, c.status, undefined);
      for (const m of modes) {
        const ns = await loop(N, c.method, c.status, requestLogger(log, { requests: m, sampleReads: 100 }));
        const k = `${c.name}|${m}`;
        results.set(k, [...(results.get(k) ?? []), ns - off]);
      }
    }
  }
  log.flush();
  process.stderr.write(`${N} requests per loop, ${ROUNDS} rounds, Node ${process.versions.node}: CPU per request over the log off\n| case | log.requests: sampled | log.requests: all |\n|---|---|---|\n`);
  for (const c of cases) {
    const cell = (m: string) => `${median(results.get(`${c.name}|${m}`) ?? []).toFixed(0)} ns`;
    process.stderr.write(`| ${c.name} | ${cell('sampled')} | ${cell('all')} |\n`);
  }
}

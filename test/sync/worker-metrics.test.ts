/**
 * `xcap-bridge worker --metrics-port` as a child process on the test Redis (a single one
 * and a cluster): Prometheus can scrape the sync runs this worker did (its own counters and
 * process metrics), and the probes answer; a bad port is a usage error.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempData, watchOutput, type OutputWatch } from '../http/serve-process.ts';
import { parseSamples } from '../http/prometheus.ts';
import { describeEachRedis, redisYaml } from '../helpers/redis-variants.ts';

const BIN = resolve(import.meta.dirname, '../../bin/xcap-bridge.js');

describeEachRedis((redis) => {
  describe('xcap-bridge worker --metrics-port', () => {
    const store = tempData();
    let child: ChildProcess;
    let watch: OutputWatch;
    const logged = (text: string, times = 1) => watch.logged(text, times);

    beforeAll(async () => {
      const cfg = join(store.data, 'cfg.yaml');
      writeFileSync(cfg, [
        `store: { kind: sqlite, dataDir: ${store.data} }`,
        redisYaml(await redis.target(), `worker-metrics-${randomUUID()}`),
        // debug: the run of an empty directory is unchanged, and unchanged runs log at debug.
        'log: { level: debug }',
        'connectors:',
        '  mem: { kind: memory, collections: [people] }',
        'bindings:',
        '  - { name: dir, auid: resource-lists, target: { scope: global, document: directory }, mapping: { kind: resource-lists, list: directory },',
        '      connector: mem, collection: people, direction: pull, onXcapChange: false, schedule: { everyMs: 600000 } }',
        '',
      ].join('\n'));
      child = spawn(process.execPath, [BIN, 'worker', '--config', cfg, '--metrics-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      watch = watchOutput(child);
      await logged('worker metrics at http://127.0.0.1:');
    });
    afterAll(async () => {
      if (child && child.exitCode === null) {
        const code = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        expect(await code).toBe(0);
      }
      store.remove();
    });

    const metricsUrl = () => /worker metrics at (http:\/\/\S+?)["\s]/.exec(watch.output())?.[1] as string;

    it("serves the runs it did, with their outcome, and its process metrics", async () => {
      // The scheduler's first tick runs at once; the run logs its outcome after it counted it.
      await logged('"msg":"sync run"');
      const run = JSON.parse(watch.output().split('\n').find((l) => l.includes('"msg":"sync run"')) as string) as { binding: string; outcome: string };
      expect(run.binding).toBe('dir');
      const res = await fetch(metricsUrl());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseSamples(await res.text());
      const runs = samples.filter((s) => s.name === 'xcap_bridge_sync_runs_total' && s.labels.binding === 'dir');
      const runLines = watch.output().split('\n').filter((l) => l.includes('"msg":"sync run"')).length;
      expect(runs.reduce((n, s) => n + s.value, 0)).toBe(runLines);
      expect(runs.find((s) => s.labels.outcome === run.outcome)?.value).toBeGreaterThanOrEqual(1);
      expect(samples.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);
      // The stored state is the gateway's to report: not repeated by each worker.
      expect(samples.some((s) => s.name === 'xcap_bridge_documents' || s.name === 'xcap_bridge_users')).toBe(false);
    });

    it('answers /healthz and /readyz (store and Redis reachable)', async () => {
      const base = new URL(metricsUrl()).origin;
      expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: { name: string; ok: boolean }[] }).checks).toEqual([
        { name: 'store', ok: true, reason: null },
        { name: 'redis', ok: true, reason: null },
      ]);
    });

    it('a SIGHUP (a certificate renewal hook signalling every process) is logged and the worker keeps serving', async () => {
      child.kill('SIGHUP');
      await logged('SIGHUP: the worker has nothing to reload');
      expect(child.exitCode).toBe(null);
      expect((await fetch(`${new URL(metricsUrl()).origin}/healthz`)).status).toBe(200);
    });
  });
});

describe('xcap-bridge worker --metrics-port usage', () => {
  it('a --metrics-port that is not a port is a usage error (exit 2)', async () => {
    const code = await new Promise<number | null>((done) => execFile(process.execPath, [BIN, 'worker', '--metrics-port', 'http'], (err) => done(err ? Number(err.code) : 0)));
    expect(code).toBe(2);
  });
});

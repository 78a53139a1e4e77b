/**
 * `xcap-bridge sync <run|status|conflicts|resolve>`: operate the sync engine by hand.
 * `run` works without Redis (it runs in this process); the others read the sync state in
 * the documents' database.
 */
import type { Config } from '../config/schema.ts';
import { openStore } from '../store/open.ts';
import type { DocumentStore } from '../store/types.ts';
import { compileBinding } from '../sync/binding.ts';
import { createConnectors } from '../sync/connectors.ts';
import { Redis } from 'ioredis';
import { withScopeLock } from '../sync/queue.ts';
import { runSync, scopesOf, type RunReport } from '../sync/runner.ts';
import { SyncState } from '../sync/state.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, type Command } from './command.ts';

const HELP = `Usage: xcap-bridge sync <subcommand> [options]

Subcommands:
  run <binding> [--dry-run] [--user XUI] [--force]
                        run one binding now (every user's document, or --user's);
                        --dry-run prints the plan and writes nothing; --force skips the
                        mass-delete guard
  status                last run, lag, error and open conflicts per binding and document
  conflicts [binding]   list open conflicts with both sides' content
  resolve <binding> <scope> <item> --take xcap|remote
                        settle a conflict; the next run of that document applies it

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  -h, --help            show this help
`;

export const syncCommand: Command = {
  name: 'sync',
  summary: 'run a binding now, show sync status and conflicts, resolve conflicts',
  async run(argv) {
    const parsed = parseCommandArgs(
      'sync',
      HELP,
      argv,
      { config: { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, user: { type: 'string' }, take: { type: 'string' } },
      true,
    );
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const [sub, ...args] = positionals;
    if (sub === undefined) {
      process.stderr.write(HELP);
      return EXIT_USAGE;
    }
    const config = loadCommandConfig('sync', values.config);
    if (typeof config === 'number') return config;
    const store = await openStore(config.store);
    try {
      const state = await SyncState.open(store.sql);
      switch (sub) {
        case 'run':
          return await runCmd(config, store, state, args[0], { dryRun: values['dry-run'] ?? false, force: values.force ?? false, user: values.user });
        case 'status':
          return await statusCmd(state);
        case 'conflicts':
          return await conflictsCmd(state, args[0]);
        case 'resolve':
          return await resolveCmd(state, args, values.take);
        default:
          process.stderr.write(`sync: unknown subcommand "${sub}"\n\n${HELP}`);
          return EXIT_USAGE;
      }
    } finally {
      await store.close();
    }
  },
};

async function runCmd(config: Config, store: DocumentStore, state: SyncState, name: string | undefined, o: { dryRun: boolean; force: boolean; user: string | undefined }): Promise<number> {
  const cfg = config.bindings.find((b) => b.name === name);
  if (!cfg) {
    process.stderr.write(`sync run: no binding named "${name ?? ''}" (known: ${config.bindings.map((b) => b.name).join(', ') || 'none'})\n`);
    return EXIT_USAGE;
  }
  const connectors = await createConnectors(config.connectors);
  const connector = connectors.get(cfg.connector);
  if (!connector) throw new Error(`connector ${cfg.connector} missing after creation`);
  const binding = compileBinding(cfg);
  const scopes = o.user !== undefined ? [o.user] : await scopesOf(store, binding);
  // The queue's workers take a Redis lock per binding and document; so does a run by hand,
  // when Redis is there. Without it, conditional writes still keep the two from losing data.
  const redis = o.dryRun ? undefined : await lockConnection(config.redis.url);
  const locked = <T>(scope: string, fn: () => Promise<T>): Promise<T> =>
    redis ? withScopeLock(redis, config.redis.prefix, cfg.name, scope, fn) : fn();
  let failed = 0;
  try {
    for (const scope of scopes) {
      try {
        const report = await locked(scope, () =>
          runSync({ store, state, connector }, binding, scope, {
            dryRun: o.dryRun,
            force: o.force,
            onProgress: (done, total) => process.stderr.write(`\r${cfg.name} ${scope}: remote writes ${done}/${total}`),
          }),
        );
        process.stderr.write('\r');
        printReport(report, o.dryRun);
        if (report.outcome === 'refused') failed++;
      } catch (err) {
        failed++;
        process.stdout.write(`${cfg.name} ${scope}: failed: ${(err as Error).message}\n`);
      }
    }
  } finally {
    redis?.disconnect();
    for (const c of connectors.values()) await c.close();
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** A Redis connection for the scope lock, or `undefined` (with a note) when Redis cannot be reached. */
async function lockConnection(url: string): Promise<Redis | undefined> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return redis;
  } catch {
    redis.disconnect();
    process.stderr.write('sync run: Redis unreachable, running without the per-document lock (writes stay conditional)\n');
    return undefined;
  }
}

function printReport(r: RunReport, dry: boolean): void {
  const counts = (c: RunReport['xcap']) => `+${c.create} ~${c.update} -${c.delete}`;
  process.stdout.write(`${r.binding} ${r.scope}: ${r.outcome}${r.refused ? ` (${r.refused})` : ''}; xcap ${counts(r.xcap)}, remote ${counts(r.remote)}, conflicts ${r.conflicts}\n`);
  if (!dry || !r.plan) return;
  for (const d of r.plan.decisions) {
    const parts = [d.xcap ? `xcap ${d.xcap.op}` : '', d.remote ? `remote ${d.remote.op}` : '', d.conflict ? 'conflict' : ''].filter(Boolean);
    process.stdout.write(`  ${d.item}: ${d.reason}${parts.length ? ` -> ${parts.join(', ')}` : ''}\n`);
  }
}

async function statusCmd(state: SyncState): Promise<number> {
  const scopes = await state.listScopes();
  const conflicts = await state.listConflicts();
  if (scopes.length === 0) {
    process.stdout.write('no sync runs recorded yet\n');
    return EXIT_OK;
  }
  const now = Date.now();
  const time = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());
  for (const s of scopes) {
    const open = conflicts.filter((c) => c.binding === s.binding && c.scope === s.scope).length;
    const lag = s.lastOkAt === null ? 'never synced' : `${Math.round((now - s.lastOkAt) / 1000)} s since last success`;
    process.stdout.write(`${s.binding} ${s.scope}: last run ${time(s.lastRunAt)}, ${lag}, conflicts ${open}${s.lastError ? `, error: ${s.lastError}` : ''}\n`);
  }
  return EXIT_OK;
}

async function conflictsCmd(state: SyncState, binding: string | undefined): Promise<number> {
  const list = await state.listConflicts(binding);
  if (list.length === 0) process.stdout.write('no open conflicts\n');
  for (const c of list) {
    process.stdout.write(`${c.binding} ${c.scope} ${c.item}${c.resolution ? ` (resolved: take ${c.resolution}, applied on next run)` : ''}\n`);
    process.stdout.write(`  xcap:   ${JSON.stringify(c.xcap)}\n  remote: ${JSON.stringify(c.remote)}\n`);
  }
  return EXIT_OK;
}

async function resolveCmd(state: SyncState, args: string[], take: string | undefined): Promise<number> {
  const [binding, scope, item] = args;
  if (binding === undefined || scope === undefined || item === undefined || (take !== 'xcap' && take !== 'remote')) {
    process.stderr.write(`sync resolve: needs <binding> <scope> <item> --take xcap|remote\n`);
    return EXIT_USAGE;
  }
  if (!(await state.resolveConflict(binding, scope, item, take))) {
    process.stderr.write(`sync resolve: no open conflict ${binding} ${scope} ${item}\n`);
    return EXIT_FAILURE;
  }
  process.stdout.write(`resolved: ${item} takes the ${take} side on the next run of ${binding} ${scope} (xcap-bridge sync run ${binding}${scope === 'global' ? '' : ` --user ${scope}`})\n`);
  return EXIT_OK;
}

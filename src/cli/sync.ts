/**
 * `xcap-bridge sync <run|status|conflicts|resolve>`: operate the sync engine by hand.
 * `run` works without Redis (it runs in this process); the others read the sync state in
 * the documents' database and never create one. Items are named by key and display name.
 */
import { createRegistry } from '../appusage/registry.ts';
import { listableUsers } from '../auth/index.ts';
import type { Config } from '../config/schema.ts';
import { openStore, StoreMissing } from '../store/open.ts';
import type { DocumentStore } from '../store/types.ts';
import { compileBinding } from '../sync/binding.ts';
import { connectorReadOptions, createConnectors } from '../connectors.ts';
import { createRedisConnection, queuePrefix, type RedisConnection, type RedisTarget } from '../sync/redis-connection.ts';
import { readHealth } from '../sync/health.ts';
import { conflictName, decisionName, findConflicts } from '../sync/item-names.ts';
import { withScopeLock } from '../sync/queue.ts';
import { runSync, scopesOf, type RunReport } from '../sync/runner.ts';
import { HookStatusTable, hookStatusLine } from '../feed/hooks/status.ts';
import { SyncState } from '../sync/state.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import { Progress } from './progress.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';
import { SYNC_HELP } from './help.ts';

export const syncCommand: Command = {
  name: 'sync',
  async run(argv) {
    const parsed = parseCommandArgs(
      'sync',
      SYNC_HELP,
      argv,
      { config: { type: 'string' }, ...STORE_OPTIONS, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, full: { type: 'boolean' }, user: { type: 'string' }, take: { type: 'string' } },
      true,
    );
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const [sub, ...args] = positionals;
    if (sub === undefined) {
      process.stderr.write(SYNC_HELP);
      return EXIT_USAGE;
    }
    if (!['run', 'status', 'conflicts', 'resolve'].includes(sub)) {
      process.stderr.write(`sync: unknown subcommand "${sub}"\n\n${SYNC_HELP}`);
      return EXIT_USAGE;
    }
    const overrides = storeOverrides('sync', values);
    if (typeof overrides === 'number') return overrides;
    const config = loadCommandConfig('sync', values.config, overrides);
    if (typeof config === 'number') return config;
    let store: DocumentStore;
    try {
      store = await openStore(config.store, { create: sub === 'run' && values['dry-run'] !== true });
    } catch (err) {
      if (!(err instanceof StoreMissing)) throw err;
      const noConfig = config.file === undefined ? ' and no configuration file (no --config, no ./xcap-bridge.yaml)' : '';
      process.stderr.write(`sync ${sub}: no store at ${err.path}${noConfig}: nothing has been served or synced there; give --config FILE, --data DIR or --database-url URL\n`);
      return EXIT_USAGE;
    }
    try {
      const state = await SyncState.open(store.sql);
      switch (sub) {
        case 'run':
          return await runCmd(config, store, state, args[0], { dryRun: values['dry-run'] ?? false, force: values.force ?? false, full: values.full ?? false, user: values.user });
        case 'status':
          return await statusCmd(config, state, await HookStatusTable.open(store.sql));
        case 'conflicts':
          return await conflictsCmd(config, state, args[0]);
        default:
          return await resolveCmd(config, state, args, values.take);
      }
    } finally {
      await store.close();
    }
  },
};

async function runCmd(config: Config, store: DocumentStore, state: SyncState, name: string | undefined, o: { dryRun: boolean; force: boolean; full: boolean; user: string | undefined }): Promise<number> {
  const cfg = config.bindings.find((b) => b.name === name);
  if (!cfg) {
    process.stderr.write(`sync run: no binding named "${name ?? ''}" (known: ${config.bindings.map((b) => b.name).join(', ') || 'none'})\n`);
    return EXIT_USAGE;
  }
  const connectors = await createConnectors(config.connectors);
  const connector = connectors.get(cfg.connector);
  if (!connector) throw new Error(`connector ${cfg.connector} missing after creation`);
  const binding = compileBinding(cfg, connectorReadOptions(config.connectors)[cfg.connector]);
  // A run by hand writes as the workers and XCAP clients do: validated by the usage.
  const writer = new DocumentWriter({ store, usages: await createRegistry({ custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes }) });
  const scopes = o.user !== undefined ? [o.user] : await scopesOf(store, binding, await listableUsers(config.auth, store));
  // The queue's workers take a Redis lock per binding and document; so does a run by hand,
  // when Redis is there. Without it, conditional writes still keep the two from losing data.
  const redis = o.dryRun ? undefined : await lockConnection(config.redis);
  const locked = <T>(scope: string, fn: () => Promise<T>): Promise<T> =>
    redis ? withScopeLock(redis, queuePrefix(config.redis.prefix, config.redis), cfg.name, scope, fn) : fn();
  let failed = 0;
  // Many documents: count documents, the current one's remote writes beside the count.
  // One document: count its remote writes (a push of a whole directory is long work).
  const many = scopes.length > 1;
  const progress = many ? new Progress({ label: `sync run ${cfg.name}`, unit: 'documents', total: scopes.length }) : new Progress({ label: `sync run ${cfg.name} ${scopes[0] ?? ''}`, unit: 'remote writes' });
  const say = (line: string) => {
    progress.clear();
    process.stdout.write(line);
  };
  try {
    for (const scope of scopes) {
      try {
        const report = await locked(scope, () =>
          runSync({ store, state, connector, writer }, binding, scope, {
            dryRun: o.dryRun,
            force: o.force,
            full: o.full,
            onProgress: (done, total) => (many ? progress.note(`${scope}: remote writes ${done}/${total}`) : progress.set(done, total)),
          }),
        );
        say(reportText(report, o.dryRun, binding.mapping.keyField));
        if (report.outcome === 'refused') failed++;
      } catch (err) {
        failed++;
        say(`${cfg.name} ${scope}: failed: ${(err as Error).message}\n`);
      }
      if (many) {
        progress.note(undefined);
        progress.add();
      }
    }
  } finally {
    progress.finish();
    redis?.disconnect();
    for (const c of connectors.values()) await c.close();
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** A Redis connection for the scope lock, or `undefined` (with a note) when Redis cannot be reached. */
async function lockConnection(target: RedisTarget): Promise<RedisConnection | undefined> {
  const redis = createRedisConnection(target, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null });
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

/** The lines `sync run` prints for one document's run (with the plan on a dry run). */
function reportText(r: RunReport, dry: boolean, keyField: string): string {
  const counts = (c: RunReport['xcap']) => `+${c.create} ~${c.update} -${c.delete}`;
  let out = `${r.binding} ${r.scope}: ${r.outcome}${r.fullRead ? ' (full read)' : ''}${r.refused ? ` (${r.refused})` : ''}; xcap ${counts(r.xcap)}, remote ${counts(r.remote)}, conflicts ${r.conflicts}\n`;
  if (!dry || !r.plan) return out;
  for (const d of r.plan.decisions) {
    const parts = [d.xcap ? `xcap ${d.xcap.op}` : '', d.remote ? `remote ${d.remote.op}` : '', d.conflict ? 'conflict' : ''].filter(Boolean);
    out += `  ${decisionName(d, keyField)}: ${d.reason}${parts.length ? ` -> ${parts.join(', ')}` : ''}\n`;
  }
  return out;
}

/** The key field of each configured binding's items (`uri` for resource-lists). */
function keyFields(config: Config): Map<string, string> {
  return new Map(config.bindings.map((b) => [b.name, compileBinding(b).mapping.keyField]));
}

async function statusCmd(config: Config & { file: string | undefined }, state: SyncState, hookTable: HookStatusTable): Promise<number> {
  const [scopes, conflicts, health, hooks] = await Promise.all([state.listScopes(), state.listConflicts(), readHealth(state, config.bindings), hookTable.list()]);
  const hookByName = new Map(hooks.map((h) => [h.target, h]));
  for (const w of config.changeFeed.webhooks) process.stdout.write(`${hookStatusLine(w.name, 'webhook', hookByName.get(w.name))}\n`);
  for (const p of config.changeFeed.presenceServers) process.stdout.write(`${hookStatusLine(p.name, p.kind, hookByName.get(p.name))}\n`);
  if (config.bindings.length === 0) {
    process.stdout.write(`no sync bindings configured${config.file === undefined ? ' (no configuration file: give --config FILE)' : ` in ${config.file}`}\n`);
  }
  for (const h of health) {
    const verdict = h.stale ? `STALE: ${h.reason}` : h.schedule ? 'ok' : 'ok (no schedule: runs on XCAP changes and by hand)';
    const tick = h.lastTickAt === null ? '' : `; last tick ${new Date(h.lastTickAt).toISOString()}`;
    process.stdout.write(`binding ${h.binding}: ${verdict}${h.schedule ? `; schedule ${h.schedule}${tick}` : ''}\n`);
  }
  if (scopes.length === 0) {
    process.stdout.write('no sync runs recorded yet\n');
    return EXIT_OK;
  }
  const staleScope = new Map(health.flatMap((h) => h.scopes.filter((s) => s.stale).map((s) => [`${h.binding}|${s.scope}`, s.reason] as const)));
  const now = Date.now();
  const time = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());
  for (const s of scopes) {
    const open = conflicts.filter((c) => c.binding === s.binding && c.scope === s.scope).length;
    const lag = s.lastOkAt === null ? 'never synced' : `${Math.round((now - s.lastOkAt) / 1000)} s since last success`;
    const stale = staleScope.get(`${s.binding}|${s.scope}`);
    process.stdout.write(`${s.binding} ${s.scope}: last run ${time(s.lastRunAt)}, ${lag}, conflicts ${open}${s.lastError ? `, error: ${s.lastError}` : ''}${stale ? `, STALE: ${stale}` : ''}\n`);
  }
  return EXIT_OK;
}

async function conflictsCmd(config: Config, state: SyncState, binding: string | undefined): Promise<number> {
  const list = await state.listConflicts(binding);
  const keys = keyFields(config);
  if (list.length === 0) process.stdout.write('no open conflicts\n');
  for (const c of list) {
    const key = keys.get(c.binding) ?? 'uri';
    const ref = c.xcap[key] ?? c.remote[key] ?? c.item;
    process.stdout.write(`${c.binding} ${c.scope} ${conflictName(c, key)}${c.resolution ? ` (resolved: take ${c.resolution}, applied on next run)` : ''}\n`);
    process.stdout.write(`  xcap:   ${JSON.stringify(c.xcap)}\n  remote: ${JSON.stringify(c.remote)}\n`);
    if (!c.resolution) process.stdout.write(`  settle: xcap-bridge sync resolve ${c.binding} ${c.scope} ${ref} --take xcap|remote\n`);
  }
  return EXIT_OK;
}

async function resolveCmd(config: Config, state: SyncState, args: string[], take: string | undefined): Promise<number> {
  const [binding, scope, ref] = args;
  if (binding === undefined || scope === undefined || ref === undefined || (take !== 'xcap' && take !== 'remote')) {
    process.stderr.write(`sync resolve: needs <binding> <scope> <uri> --take xcap|remote\n`);
    return EXIT_USAGE;
  }
  const key = keyFields(config).get(binding) ?? 'uri';
  const found = findConflicts(await state.listConflicts(binding, scope), ref, key);
  if (found.length !== 1) {
    process.stderr.write(
      found.length === 0
        ? `sync resolve: no open conflict for ${ref} in ${binding} ${scope} (see xcap-bridge sync conflicts ${binding})\n`
        : `sync resolve: ${found.length} open conflicts match ${ref} in ${binding} ${scope}; give one of their ids: ${found.map((c) => c.item).join(', ')}\n`,
    );
    return EXIT_FAILURE;
  }
  const c = found[0] as (typeof found)[number];
  await state.resolveConflict(binding, scope, c.item, take);
  process.stdout.write(`resolved: ${conflictName(c, key)} takes the ${take} side on the next run of ${binding} ${scope} (xcap-bridge sync run ${binding}${scope === 'global' ? '' : ` --user ${scope}`})\n`);
  return EXIT_OK;
}

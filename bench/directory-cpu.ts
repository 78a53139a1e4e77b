/**
 * CPU the sync engine spends on the directory of docs/directory-to-phones.md, in-process and without HTTP, LDAP or Redis:
 * a pull binding of `--entries` directory entries (memory connector, fields mail and title)
 * into `--users` users' new `index` documents (SQLite file store, the validating
 * DocumentWriter, a DocCache as the queue's workers keep), every user's run at once as at
 * one tick; then `--rounds` ticks that each change one entry. Prints process CPU time
 * (user + system), which a loaded machine does not inflate, beside wall time.
 *
 *   npx node bench/directory-cpu.ts [--entries 10000] [--users 4] [--rounds 5] [--dir /dev/shm]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryConnector } from '../connectors/memory/index.ts';
import { createRegistry } from '../src/appusage/registry.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { bindingSchema, compileBinding } from '../src/sync/binding.ts';
import { DocCache } from '../src/sync/doc-cache.ts';
import { runSync } from '../src/sync/runner.ts';
import { SyncState } from '../src/sync/state.ts';
import { DocumentWriter } from '../src/xcap/document-writer.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '10000' }, users: { type: 'string', default: '4' }, rounds: { type: 'string', default: '5' }, dir: { type: 'string', default: tmpdir() } } });
const N = Number(values.entries);
const dir = mkdtempSync(join(values.dir, 'xcapb-dircpu-'));
const store = await openSqliteStore(join(dir, 'bench.sqlite'));
const state = await SyncState.open(store.sql);
const mem = new MemoryConnector({ collections: ['people'] });
const person = (i: number, name = `Person ${i}`) => ({ uri: `sip:p${i}@example.com`, 'display-name': name, mail: `p${i}@example.com`, title: `Title ${i}` });
const refs = mem.seed('people', Array.from({ length: N }, (_, i) => ({ fields: person(i) })));
const users = Array.from({ length: Number(values.users) }, (_, i) => `sip:u${i}@example.com`);
const binding = compileBinding(bindingSchema.parse({ name: 'dir', auid: 'resource-lists', target: { scope: 'users', document: 'index' }, mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail', 'title'] }, connector: 'm', collection: 'people', direction: 'pull' }));
const ctx = { store, state, connector: mem, writer: new DocumentWriter({ store, usages: await createRegistry({}) }), docs: new DocCache() };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const tick = async () => {
  const c0 = cpu();
  const t0 = performance.now();
  await Promise.all(users.map((u) => runSync(ctx, binding, u)));
  return { cpu: cpu() - c0, wall: performance.now() - t0 };
};
try {
  const imp = await tick();
  console.log(`import: ${N} entries into ${users.length} documents: CPU ${imp.cpu.toFixed(2)} s, wall ${imp.wall.toFixed(0)} ms`);
  const rounds: { cpu: number; wall: number }[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    const i = (r * 7919 + 11) % N;
    mem.seed('people', [{ id: (refs[i] as { id: string }).id, fields: person(i, `Edited ${r}`) }]);
    rounds.push(await tick());
  }
  console.log(`one changed entry, ${users.length} documents: CPU ${rounds.map((r) => r.cpu.toFixed(3)).join(', ')} s; wall ${rounds.map((r) => r.wall.toFixed(0)).join(', ')} ms`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A run that knows what changed (change token + kept parse of the document) must end
 * exactly where a run that reads both sides whole ends: same document text, same report.
 * Two gateways follow one remote through random edits; one runs on deltas, the other
 * re-reads everything (`full`) every time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../connectors/memory/index.ts';
import { createRegistry } from '../../src/appusage/registry.ts';
import { DocCache } from '../../src/sync/doc-cache.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { runSync, type RunReport } from '../../src/sync/runner.ts';
import { binding, GLOBAL_DOC, listsDoc, person, syncFixture } from './helpers.ts';

type Edit =
  | { op: 'add'; n: number; name: string }
  | { op: 'rename'; at: number; name: string }
  | { op: 'rekey'; at: number; n: number }
  | { op: 'drop'; at: number }
  | { op: 'sync' };

const name = fc.constantFrom('Ann', 'Bob', 'Cy', 'Dee & <Eve>');
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), n: fc.nat(12), name }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), name }),
  fc.record({ op: fc.constant('rekey' as const), at: fc.nat(), n: fc.nat(12) }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.constant({ op: 'sync' as const }),
);

function outcome(r: RunReport) {
  return { outcome: r.outcome, xcap: r.xcap, remote: r.remote, conflicts: r.conflicts, refused: r.refused };
}

describe('sync run on a change-token delta (issue 5 §8)', () => {
  it('gives the same document and report as a full re-read, edit after edit', async () => {
    const usages = await createRegistry();
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 30 }), fc.constantFrom('created' as const, 'all' as const), async (edits, deletes) => {
        const remote = new MemoryConnector({ collections: ['people'] });
        const delta = await syncFixture();
        const full = await syncFixture();
        try {
          // The user's own list lives next to the bound one and must survive both paths.
          for (const f of [delta, full]) await f.store.put(GLOBAL_DOC, listsDoc([], ['sip:mine@example.com']), 'absent');
          const bnd = binding({ safety: { maxDeleteShare: 0.5, deleteAllowance: 1, deletes } });
          const docs = new DocCache();
          const ids: string[] = [];
          // Uris stay distinct: a remote item skipped for a taken uri is looked at again only
          // when it changes (incremental runs) but on every full re-read, so the two differ there.
          let fresh = 0;
          const uri = (n: number) => `sip:p${n}-${++fresh}@example.com`;
          const step = async () => {
            const a = await runSync({ store: delta.store, state: delta.state, connector: remote, writer: new DocumentWriter({ store: delta.store, usages }), docs }, bnd, 'global');
            const b = await runSync({ store: full.store, state: full.state, connector: remote, writer: new DocumentWriter({ store: full.store, usages }) }, bnd, 'global', { full: true });
            expect(outcome(a)).toEqual({ ...outcome(b), outcome: a.outcome === 'unchanged' ? 'unchanged' : b.outcome });
            expect((await delta.store.get(GLOBAL_DOC))?.body).toBe((await full.store.get(GLOBAL_DOC))?.body);
          };
          await step();
          for (const e of edits) {
            const id = ids.length ? ids[('at' in e ? e.at : 0) % ids.length] : undefined;
            if (e.op === 'add') ids.push(remote.seed('people', [{ fields: { ...person(e.n, e.name), uri: uri(e.n) } }])[0]!.id);
            else if (e.op === 'sync') await step();
            else if (id === undefined) continue;
            else if (e.op === 'rename') remote.seed('people', [{ id, fields: { ...remote.snapshot('people').get(id), 'display-name': e.name } }]);
            else if (e.op === 'rekey') remote.seed('people', [{ id, fields: { ...remote.snapshot('people').get(id), uri: uri(e.n) } }]);
            else {
              remote.drop('people', id);
              ids.splice(ids.indexOf(id), 1);
            }
          }
          await step();
          await step();
        } finally {
          await Promise.all([delta.store.close(), full.store.close()]);
        }
      }),
      { numRuns: 60 },
    );
  });
});

/**
 * The apply step of a sync run: the plan's remote writes one by one, each conditional on
 * the version read, then the bound document once through the DocumentWriter the XCAP
 * service uses (usage validation, put conditional on the ETag read, change-feed row with
 * origin `sync:<binding>`), then the state. State rows are written for what succeeded, so
 * a retry after a partial run finds equal content and writes nothing.
 */
import { NotFound as RemoteNotFound, VersionMismatch } from '../../../connectors/errors.ts';
import type { Element } from '@xmldom/xmldom';
import type { CandidateDocument } from '../../appusage/types.ts';
import type { WriteResult } from '../../store/types.ts';
import { DocumentWriter } from '../../xcap/document-writer.ts';
import { collectionFor, docKeyFor, type Binding, type Scope } from '../binding.ts';
import type { BoundList, ItemMapping } from '../mapping/element-list.ts';
import type { Decision, Plan } from '../reconcile.ts';
import type { RunContext, RunOptions } from '../runner.ts';
import type { ItemUpsert } from '../state.ts';
import { RemoteRaceLost, RetryableSyncError } from './errors.ts';
import type { Sides } from './read.ts';

/** Writes the plan; resolves with the bound document's ETag afterwards (`null`: no document). */
export async function applyPlan(ctx: RunContext, binding: Binding, scope: Scope, sides: Sides, plan: Plan, opts: Pick<RunOptions, 'onProgress'>, started: number): Promise<string | null> {
  const now = ctx.now ?? Date.now;
  const b = binding.config;
  const { mapping } = binding;
  const key = docKeyFor(b, scope);
  const collection = collectionFor(b, scope);
  const { stored, list } = sides;

  const upserts: ItemUpsert[] = [];
  const drops: string[] = [];
  const settle = (d: Decision, ref?: { id: string; version: string }) => {
    if (d.next === 'drop') {
      if (d.stateId !== null) drops.push(d.stateId);
      return;
    }
    upserts.push({ ...d.next, id: d.stateId, ...(ref ? { remoteId: ref.id, remoteVersion: ref.version } : {}) });
  };
  const persist = () => ctx.state.writeItems(b.name, scope, upserts, drops, now());

  // Remote writes, one by one. Decisions with an XCAP write too are settled after the document write.
  const xcapPending: { d: Decision; ref?: { id: string; version: string } }[] = [];
  const remoteTotal = plan.remote.create + plan.remote.update + plan.remote.delete;
  let done = 0;
  let writing: Decision | undefined;
  try {
    for (const d of plan.decisions) {
      writing = d;
      let ref: { id: string; version: string } | undefined;
      const r = d.remote;
      if (r) {
        // The binding owns its mapping's fields: the remote item's other content is not its to change.
        if (r.op === 'create') ref = await ctx.connector.write(collection, { fields: r.fields, owned: mapping.fields }, 'absent');
        else if (r.op === 'update') ref = await ctx.connector.write(collection, { id: r.id, fields: r.fields, owned: mapping.fields }, { version: r.version });
        else await ctx.connector.remove(collection, r.id, { version: r.version });
        opts.onProgress?.(++done, remoteTotal);
      }
      if (d.xcap) xcapPending.push(ref ? { d, ref } : { d });
      else settle(d, ref);
    }
  } catch (err) {
    await persist();
    // The item moved under us (changed or deleted since read): re-read on retry.
    if (err instanceof RemoteNotFound) throw new RetryableSyncError(`remote item vanished during sync: ${err.message}`, { cause: err });
    if (err instanceof VersionMismatch && writing) throw new RemoteRaceLost(writing.item, err);
    throw err;
  }

  let etag = stored?.etag ?? null;
  if (xcapPending.length) {
    const target = list ?? mapping.open(mapping.parse(mapping.emptyDocument()));
    const { written, uniqueKeys } = target.apply(xcapPending.map((p) => p.d.xcap as NonNullable<Decision['xcap']>));
    const body = target.serialize();
    const writer = ctx.writer ?? new DocumentWriter({ store: ctx.store });
    // A new document starts as the mapping's empty one, valid by construction.
    const check = await candidateFor(mapping, target, written, body, (sides.listValid || !stored) && uniqueKeys && writer.validates(key.auid));
    let res: WriteResult;
    try {
      res = await writer.write({ key, body, candidate: check.candidate, expect: stored ? { etag: stored.etag } : 'absent', origin: `sync:${b.name}`, onValidated: () => check.settle(true) });
    } catch (err) {
      check.settle(false);
      await persist();
      throw err;
    }
    etag = res.etag;
    ctx.docs?.put(b.name, scope, { etag, list: target, chars: body.length, valid: writer.validates(key.auid) });
    for (const p of xcapPending) settle(p.d, p.ref);
  } else if (stored && list) {
    ctx.docs?.put(b.name, scope, { etag: stored.etag, list, chars: stored.body.length, valid: sides.listValid });
  }
  await persist();
  const conflicts = plan.decisions.flatMap((d) => (d.conflict ? [{ item: d.item, ...d.conflict }] : []));
  await ctx.state.replaceConflicts(b.name, scope, conflicts, started);
  // An open conflict leaves the remote change unabsorbed in state: keep the old token so the next run sees it again.
  const nextToken = conflicts.length ? (sides.scopeState?.remoteToken ?? null) : sides.token;
  await ctx.state.recordRun(b.name, scope, started, { ok: true, docEtag: etag, remoteToken: nextToken, configHash: binding.fingerprint, summary: { xcap: plan.xcap, remote: plan.remote, conflicts: plan.conflicts } });
  return etag;
}

/**
 * What the usage validates for a sync write. When the list was valid before the edit and
 * its keys are still unique, and the usage's item rules look at one item alone, the
 * written items decide, and of them only those whose text has not passed in a list of the
 * same context before (the directory written into every user's document is checked once);
 * when those are most of the list, the whole body is as cheap. Otherwise the whole body.
 */
async function candidateFor(mapping: ItemMapping, list: BoundList, written: readonly Element[], body: string, editOfValid: boolean): Promise<{ candidate: CandidateDocument; settle: (valid: boolean) => void }> {
  const whole = { text: body, dom: () => list.doc };
  if (!editOfValid || !mapping.standAloneItems) return { candidate: whole, settle: () => {} };
  const context = list.context();
  const texts = written.map((el) => list.textOf(el));
  const known = texts.filter((t): t is string => t !== undefined);
  // Texts a concurrent run is validating now: its outcome decides them (and meanwhile
  // another run may have claimed some of them: look again until none is pending).
  for (let wait = mapping.validItems.pending(context, known); wait; wait = mapping.validItems.pending(context, known)) await wait;
  const unseen: Element[] = [];
  const claimed: string[] = [];
  written.forEach((el, i) => {
    const t = texts[i];
    if (t !== undefined && mapping.validItems.has(context, t)) return;
    unseen.push(el);
    if (t !== undefined) claimed.push(t);
  });
  const settle = mapping.validItems.claim(context, claimed);
  if (unseen.length * 2 > list.items.size) return { candidate: whole, settle };
  const excerpt = mapping.excerpt(unseen);
  return { candidate: { text: mapping.serialize(excerpt), dom: () => excerpt }, settle };
}

/**
 * One thread of the validation pool (src/xcap/validation-pool.ts): builds the usage
 * registry from the options it is started with, then validates each document it is sent
 * with the usage's own `validate`, answering the error it raised as plain data. Store reads
 * go to the main thread, one request per read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRegistry, type RegistryOptions } from '../appusage/registry.ts';
import type { DocumentReader, UsageContext } from '../appusage/types.ts';
import type { DocKey, StoredDoc } from '../store/types.ts';
import { lazyCandidate } from './document-writer.ts';
import { LocalRoots } from './local-roots.ts';
import { prescanDocument } from './xml-prescan.ts';
import { transferError, type DoneMessage, type ReadMessage, type ReadResultMessage, type ValidateMessage } from './validation-pool.ts';

const port = parentPort;
if (port === null) throw new Error('validation-worker.ts runs as a worker thread of the validation pool');
const usages = await createRegistry((workerData as { registry: RegistryOptions }).registry);

/** The main thread's store, read through messages. */
class MainThreadReader implements DocumentReader {
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;

  get(key: DocKey): Promise<StoredDoc | undefined> {
    return this.#ask('get', key) as Promise<StoredDoc | undefined>;
  }

  head(key: DocKey): Promise<Omit<StoredDoc, 'body'> | undefined> {
    return this.#ask('head', key) as Promise<Omit<StoredDoc, 'body'> | undefined>;
  }

  async *list(filter?: { auid?: string; xui?: string | null }): AsyncIterable<Omit<StoredDoc, 'body'>> {
    yield* (await this.#ask('list', filter)) as Omit<StoredDoc, 'body'>[];
  }

  settle(msg: ReadResultMessage): void {
    const p = this.#pending.get(msg.rid);
    this.#pending.delete(msg.rid);
    if (msg.error === undefined) p?.resolve(msg.value);
    else p?.reject(new Error(msg.error));
  }

  #ask(op: ReadMessage['op'], arg: unknown): Promise<unknown> {
    const rid = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, { resolve, reject });
      port!.postMessage({ type: 'read', rid, op, arg } satisfies ReadMessage);
    });
  }
}

// One reader for the thread's life: usages may cache what they read per store (rls-services).
const store = new MainThreadReader();

async function validate(msg: ValidateMessage): Promise<DoneMessage> {
  try {
    const usage = usages.get(msg.auid);
    if (usage === undefined) throw new Error(`no application usage ${msg.auid} in the validation thread`);
    const ctx: UsageContext = {
      key: msg.key,
      store,
      lenient: new Set(msg.lenient),
      rootUri: msg.rootUri,
      roots: new LocalRoots(msg.roots.roots, msg.roots.defaultDomain),
    };
    if (msg.prescan !== undefined) prescanDocument(msg.text, msg.prescan);
    await usage.validate(lazyCandidate(msg.text), ctx);
    return { type: 'done' };
  } catch (err) {
    return { type: 'done', error: transferError(err) };
  }
}

port.on('message', (msg: ValidateMessage | ReadResultMessage) => {
  if (msg.type === 'read-result') store.settle(msg);
  else void validate(msg).then((done) => port.postMessage(done));
});

/**
 * The store's side of its worker thread (sqlite-worker.ts): starts it, waits
 * for the store to open (or for the reason it cannot), then asks it one
 * request at a time and matches each answer to its question. The worker's log
 * lines go to the store's logger; a worker that stops, or says a sync failed,
 * stops the mailer (`fatal`), which starts again from what SQLite has.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../shared/logger.ts';
import type { WorkerEvent, WorkerReply, WorkerRequest, WorkerSettings } from './sqlite-worker.ts';
import { StoreOpenError } from './store.ts';

export type Opened = Extract<WorkerEvent, { op: 'opened' }>;

/**
 * The worker's script: beside the bundle (dist/mailer-store-worker.mjs, which
 * scripts/build.ts makes and the image ships), or beside this file when the
 * sources run.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './sqlite-worker.ts' : './mailer-store-worker.mjs', import.meta.url);

export class WorkerClient {
  readonly #worker: Worker;
  /** Resolves when the worker has ended (it may end before its last answer is read). */
  readonly #ended: Promise<void>;
  readonly #log: Logger;
  /** Requests sent to the worker and not answered yet. */
  readonly #asked = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  #nextRequest = 0;
  #closing = false;

  private constructor(worker: Worker, log: Logger, fatal: (error: string) => void) {
    this.#worker = worker;
    this.#log = log;
    this.#ended = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WorkerEvent | WorkerReply) => this.#answer(m, fatal));
    worker.on('error', (err) => fatal(err.message));
    worker.on('exit', (code) => {
      if (!this.#closing) fatal(`the store's worker stopped (exit ${code})`);
    });
    worker.unref();
  }

  /** Start the worker and wait until the store is open; throws StoreOpenError (or why the worker failed). */
  static async start(settings: WorkerSettings, log: Logger, fatal: (error: string) => void): Promise<{ client: WorkerClient; opened: Opened }> {
    const worker = new Worker(WORKER_URL, { workerData: settings });
    let onMessage: (event: WorkerEvent) => void = () => {};
    let onGone: (err: Error | number) => void = () => {};
    const opened = await new Promise<Opened>((resolve, reject) => {
      onMessage = (event) => {
        if (event.op === 'log') log[event.level](event.text, event.fields);
        else if (event.op === 'opened') resolve(event);
        else if (event.op === 'open-failed') reject(event.kind === 'other' ? new Error(event.error) : new StoreOpenError(event.kind, event.error));
      };
      onGone = (why) => reject(why instanceof Error ? why : new Error(`the store's worker stopped (exit ${why})`));
      worker.on('message', onMessage);
      worker.on('error', onGone);
      worker.on('exit', onGone);
    }).catch(async (err: Error) => {
      await worker.terminate();
      throw err;
    });
    worker.off('message', onMessage);
    worker.off('error', onGone);
    worker.off('exit', onGone);
    return { client: new WorkerClient(worker, log, fatal), opened };
  }

  /** One request; resolves with the worker's answer, rejects with its error. */
  ask(request: WorkerRequest): Promise<unknown> {
    const n = ++this.#nextRequest;
    return new Promise((resolve, reject) => {
      this.#asked.set(n, { resolve, reject });
      if (this.#asked.size === 1) this.#worker.ref(); // an answer is awaited: keep the process up for it
      // As JSON text: V8 writes these plain objects as JSON faster than it clones them, on the event loop.
      this.#worker.postMessage(JSON.stringify({ ...request, n }));
    });
  }

  /** Ask the worker to close the database, and wait until it has ended. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#worker.ref(); // until it has ended
    await Promise.race([this.ask({ op: 'close', n: 0 }).catch(() => undefined), this.#ended]);
    await this.#ended;
  }

  #answer(message: WorkerEvent | WorkerReply, fatal: (error: string) => void): void {
    if ('op' in message) {
      if (message.op === 'log') this.#log[message.level](message.text, message.fields);
      else if (message.op === 'fatal') fatal(message.error);
      return;
    }
    const asked = this.#asked.get(message.n);
    if (!asked) return;
    this.#asked.delete(message.n);
    if (this.#asked.size === 0 && !this.#closing) this.#worker.unref();
    if (message.ok) asked.resolve(message.value);
    else asked.reject(new Error(message.error));
  }
}

/**
 * A channel over a channel module's object (types/ch2-channel.d.ts; loaded
 * by ../channel-modules.ts): the module's code is not trusted to keep the
 * channel contract, so this wrapper keeps it for it.
 *
 * - create: the module's create runs once, bounded by the module timeout;
 *   its failure (a throw, a rejection, no answer, not an object with send)
 *   is kept, and moduleChannelsReady() reports it at start as one line, so
 *   the mailer exits 2. A send on such a channel is permanent.
 * - send: the module gets a frozen copy of the alert (email-content.ts's
 *   AlertRecord, what a generic webhook gets) and a signal. A send that
 *   throws, rejects, returns anything but `{ ok: true }` or `{ ok: false,
 *   retry, error, retryAfterMs? }`, or does not settle within the timeout
 *   or before the dispatcher's signal aborts, is a transient failure with a
 *   one-line reason; the module's signal is aborted then, and whatever its
 *   promise does later is ignored (and never an unhandled rejection).
 * - close: the module's close, given CLOSE_GRACE_MS.
 *
 * What it cannot guard: a module that blocks the event loop (a busy loop)
 * stalls the whole mailer. That is the price of running in-process.
 */
import { formatDurationFlag } from '../../../shared/duration.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import type { Alert, ChannelContext as ModuleContext, ChannelLogger, ChannelModule, ChannelSettings, ModuleChannel } from '../../../types/ch2-channel.d.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { alertRecord } from '../email-content.ts';
import type { Channel, ChannelContext } from './channel.ts';

export const CLOSE_GRACE_MS = 2000;
export const DEFAULT_MODULE_CONCURRENCY = 4;
const REASON_MAX = 300;

/** A module as loaded: its default export, checked, and where it came from. */
export interface LoadedModule {
  file: string;
  module: ChannelModule;
}

/** Why a module's create failed, by channel: moduleChannelsReady reports it. */
const starting = new WeakMap<Channel, Promise<string | undefined>>();

/** One line of an error a module threw, whatever it threw. */
export function thrownText(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : `a ${err === null ? 'null' : typeof err}`;
  return flatten(text, REASON_MAX) || 'no message';
}

/** Settles with `promise`, or with `onTimeout()` after ms; a late rejection of `promise` is swallowed. */
function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A call into module code as a promise: a synchronous throw becomes a rejection. */
function call<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === null ? 'null' : typeof value;
  return `an object with keys ${Object.keys(value).slice(0, 5).map((k) => flatten(k, 30)).join(', ') || '(none)'}`;
}

/** The module's answer as a SendResult, or a transient failure saying what came back instead. */
export function checkResult(value: unknown): SendResult {
  if (value !== null && typeof value === 'object') {
    const r = value as Record<string, unknown>;
    if (r.ok === true) return sent();
    const after = r.retryAfterMs;
    const afterOk = after === undefined || (typeof after === 'number' && Number.isFinite(after) && after >= 0);
    if (r.ok === false && typeof r.retry === 'boolean' && typeof r.error === 'string' && afterOk) {
      const error = flatten(r.error, REASON_MAX) || 'failed (no reason given)';
      return r.retry ? transient(error, after as number | undefined) : permanent(error);
    }
  }
  return transient(`send returned ${describe(value)}, not { ok: true } or { ok: false, retry, error }`);
}

function moduleLogger(ctx: ChannelContext): ChannelLogger {
  const line = (message: unknown): string => `${ctx.name}: ${flatten(typeof message === 'string' ? message : String(message), 2000)}`;
  const fields = { channel: ctx.name };
  return Object.freeze({
    debug: (m: string) => ctx.log.debug(line(m), fields),
    info: (m: string) => ctx.log.info(line(m), fields),
    warn: (m: string) => ctx.log.warn(line(m), fields),
    error: (m: string) => ctx.log.error(line(m), fields),
  });
}

/** What the module sees of an alert: a fresh frozen plain object. */
export function moduleAlert(item: QueuedAlert): Alert {
  return Object.freeze(alertRecord(item));
}

export function createModuleChannel(loaded: LoadedModule, settings: ChannelSettings, ctx: ChannelContext, timeoutMs: number): Channel {
  const { module } = loaded;
  const limit = formatDurationFlag(timeoutMs);
  const context: ModuleContext = Object.freeze({ name: ctx.name, log: moduleLogger(ctx) });
  let failure: string | undefined;
  const instance: Promise<ModuleChannel | undefined> = bounded(
    call(() => module.create(Object.freeze({ ...settings }), context)),
    timeoutMs,
    () => {
      failure = `its create did not finish within ${limit}`;
      return undefined;
    },
  ).then(
    (made) => {
      if (failure !== undefined) return undefined;
      if (made === null || typeof made !== 'object' || typeof (made as ModuleChannel).send !== 'function') {
        failure = `its create returned ${describe(made)}, not an object with a send function`;
        return undefined;
      }
      return made;
    },
    (err: unknown) => {
      failure = `its create failed: ${thrownText(err)}`;
      return undefined;
    },
  );

  const send = async (item: QueuedAlert, { signal }: { signal: AbortSignal }): Promise<SendResult> => {
    if (signal.aborted) return transient('send cancelled');
    const made = await instance;
    if (!made) return permanent(`channel module ${loaded.file} did not start: ${failure}`);
    const controller = new AbortController();
    return new Promise<SendResult>((settle) => {
      let done = false;
      const finish = (result: SendResult, abort?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (abort !== undefined) controller.abort(abort);
        settle(result);
      };
      const timer = setTimeout(() => finish(transient(`no answer within ${limit} (module timeout)`), new Error(`no answer within ${limit}`)), timeoutMs);
      const onAbort = (): void => finish(transient('send cancelled'), signal.reason ?? new Error('send cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) return onAbort();
      call(() => made.send(moduleAlert(item), Object.freeze({ signal: controller.signal }))).then(
        (value) => finish(checkResult(value)),
        (err: unknown) => finish(transient(`send threw: ${thrownText(err)}`)),
      );
    });
  };

  const channel: Channel = {
    name: ctx.name,
    concurrency: module.concurrency ?? DEFAULT_MODULE_CONCURRENCY,
    send,
    async close() {
      const made = await instance;
      if (!made || typeof made.close !== 'function') return;
      const outcome = await bounded(
        call(() => made.close!()).then(() => undefined),
        CLOSE_GRACE_MS,
        () => `did not close within ${formatDurationFlag(CLOSE_GRACE_MS)}`,
      ).catch((err: unknown) => `close failed: ${thrownText(err)}`);
      if (outcome !== undefined) ctx.log.warn(`Channel ${ctx.name} (module ${loaded.file}): ${outcome}.`, { channel: ctx.name });
    },
  };
  starting.set(
    channel,
    instance.then((made) => (made ? undefined : `channel ${ctx.name} (module ${loaded.file}): ${failure}.`)),
  );
  return channel;
}

/**
 * Waits until every module channel among `channels` has been created (each
 * bounded by its timeout); the one-line reason of the first that failed, or
 * undefined. Other channels are passed over.
 */
export async function moduleChannelFailure(channels: readonly Channel[]): Promise<string | undefined> {
  const failures = await Promise.all(channels.map((c) => starting.get(c) ?? Promise.resolve(undefined)));
  return failures.find((f) => f !== undefined);
}

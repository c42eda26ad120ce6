/**
 * Delivers each accepted alert through every channel, each on its own: a slow
 * or failing channel never delays another channel or the intake. A transient
 * failure is retried with exponential backoff and jitter (honouring a
 * channel's Retry-After) until --max-retry-age; a permanent failure, or one
 * past that age, is dead-lettered with its reason and logged. Nothing is
 * dropped silently.
 *
 * One ordered pipeline per channel (Alertmanager's notify stages):
 * 1. route: a routed channel (--config `match`) takes only what it matches;
 * 2. mute: at send time a silence in force on the alert for this channel holds
 *    it, kept as `silenced` (mute-stage.ts, on the hub's NotifyPolicy), sent
 *    when the silence ends if still due; a later silence takes the retries
 *    and group waits it matches;
 * 3. group (grouper.ts): one message for the alerts for one recipient that
 *    come together, muted again at its flush; each keeps its own outcome;
 * 4. told: an up naming an incident goes only to a channel told its down
 *    (notify-log.ts, the nflog); elsewhere it is settled as skipped;
 * 5. rate: the channel's rate limit and its destination's pauses (rate-gate.ts);
 * 6. send, with its deadline; 7. record: the outcome, and the nflog.
 *
 * Each channel has its own queue (keyed-queue.ts):
 * - at most `channel.concurrency` sends under way at once (its connection
 *   pool's size), so nothing waits inside nodemailer's or undici's queue
 *   while the send's deadline runs;
 * - per target, one alert at a time, in the order they were accepted: an "up"
 *   is never delivered before the "down" it closes. A down still owed (being
 *   retried) when its up arrives is still delivered first, then the up;
 *   neither is dropped. A down that is dead-lettered or held lets the up go on.
 * - a send that outlives --send-timeout has its AbortSignal aborted, and the
 *   dispatcher waits until the channel has settled it before it retries:
 *   a send given up on cannot go out beside its retry.
 */
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import { type SendResult, transient } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import type { Route } from './channel-setup.ts';
import { Grouper } from './grouper.ts';
import { KeyedQueue, type RunOutcome } from './keyed-queue.ts';
import { MuteStage } from './mute-stage.ts';
import { NotifyLog } from './notify-log.ts';
import type { NotifyPolicy } from '../notify-policy.ts';
import { RateGate } from './rate-gate.ts';
import { isOwed, type Outbox, type OutboxRecord } from '../store/outbox.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export interface DispatcherOptions {
  /** Channels that take every alert, ungrouped; or routes (match, grouping). */
  channels?: readonly Channel[];
  routes?: readonly Route[];
  outbox: Outbox;
  log: Logger;
  maxRetryAgeMs: number;
  /** Longest a single send may take before it is cancelled and counts as a transient failure. */
  sendTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** What each channel was told (the nflog), as the store kept it. */
  notifyLog?: NotifyLog;
  now?: () => number;
}

const DEFAULT_POLICY: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, jitter: 1 };
/** Sends at once on a channel that does not say (log, file). */
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SEND_TIMEOUT_MS = 120_000;

interface Job {
  item: QueuedAlert;
  channel: Channel;
  attempt: number;
  /** The alert's generation when the job was made: one forgotten since is dropped. */
  gen: number;
}

interface Lane {
  route: Route;
  queue: KeyedQueue<Job>;
  gate: RateGate;
  grouper?: Grouper<Job>;
}

/** Jobs a grouping lane lets through to its grouper at once: they wait there, holding no connection. */
const GROUPING_LIMIT = 100_000;

/** Alerts about one target keep their order; an alert without a target is on its own. */
function orderKey(job: Job): string {
  const { target, id } = job.item.alert;
  return target !== undefined ? `t:${target}` : `id:${id}`;
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #lanes = new Map<string, Lane>();
  readonly #sending = new Set<AbortController>();
  readonly #mute: MuteStage<Job>;
  readonly #told: NotifyLog;
  /** Per alert forgotten (another mailer took it over): bumped at each forget, so its older jobs are dropped. */
  readonly #gens = new Map<string, number>();
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#told = options.notifyLog ?? new NotifyLog();
    const now = options.now ?? Date.now;
    this.#mute = new MuteStage<Job>({ outbox: options.outbox, log: options.log, now, requeue: (job) => this.#lanes.get(job.channel.name)?.queue.add(job) });
    const routes: readonly Route[] = options.routes ?? (options.channels ?? []).map((channel): Route => ({ channel }));
    for (const route of routes) {
      const { channel } = route;
      const concurrency = channel.concurrency ?? DEFAULT_CONCURRENCY;
      const grouper =
        route.group && channel.sendGroup
          ? new Grouper<Job>({ policy: route.group, concurrency, key: (job) => job.item.alert.to.toLowerCase(), send: (jobs) => this.#attemptGroup(jobs), ...(options.now ? { now: options.now } : {}) })
          : undefined;
      const queue = new KeyedQueue<Job>({ limit: grouper ? GROUPING_LIMIT : concurrency, key: orderKey, run: (job) => (grouper ? grouper.run(job) : this.#attempt(job)) });
      this.#lanes.set(channel.name, { route, queue, gate: new RateGate(channel.rateLimit), ...(grouper ? { grouper } : {}) });
    }
  }

  get channelNames(): string[] {
    return [...this.#lanes.keys()];
  }

  /** The channels an alert goes to: those whose match it passes. */
  channelsFor(alert: QueuedAlert['alert']): string[] {
    return [...this.#lanes.values()].filter((l) => !l.route.match || l.route.match(alert)).map((l) => l.route.channel.name);
  }

  /** Deliveries not finished: under way, queued, or waiting for a retry (not those a silence holds). */
  get active(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.queue.size;
    return n;
  }

  /**
   * The mute stage's policy (the hub: silences and incidents); until this is
   * called nothing is muted. Each change it signals: the held deliveries are
   * looked at again, and the retries and group waits a silence now matches are held.
   */
  usePolicy(policy: NotifyPolicy): void {
    this.#mute.use(policy, () => this.#policyChanged());
  }

  /** `only`: of a resumed alert, just these channels (the others are under way already). */
  submit(item: QueuedAlert, only?: readonly string[]): void {
    if (this.#closed) return;
    const record = this.#options.outbox.get(item.alert.id);
    for (const { route, queue } of this.#lanes.values()) {
      const { channel } = route;
      if (only && !only.includes(channel.name)) continue;
      const state = record?.channels[channel.name];
      // A resumed alert goes only to the channels that still owe it; a new one to those it matches.
      if (record ? !state || !isOwed(state.state) : route.match && !route.match(item.alert)) continue;
      const job = { item, channel, attempt: (state?.attempts ?? 0) + 1, gen: this.#gens.get(item.alert.id) ?? 0 };
      if (state?.state === 'silenced') this.#mute.restore(job);
      else queue.add(job);
    }
  }

  /**
   * Take up deliveries a previous run left unfinished (from the store), oldest
   * first. A channel that is no longer configured cannot deliver: its share
   * is dead-lettered with that reason, so nothing waits forever unseen.
   */
  resume(records: readonly OutboxRecord[], only?: ReadonlyMap<string, readonly string[]>): number {
    const configured = new Set(this.channelNames);
    const { outbox, log } = this.#options;
    let resumed = 0;
    for (const record of records) {
      const id = record.item.alert.id;
      const just = only?.get(id);
      for (const [name, state] of Object.entries(record.channels)) {
        if (!isOwed(state.state) || configured.has(name) || (just && !just.includes(name))) continue;
        const why = `channel ${name} is no longer configured`;
        outbox.settle(id, name, 'dead', why, false);
        log.error(`Alert ${id} not delivered via ${name} (dead letter): ${why}`, { event: 'dead', id, channel: name });
      }
      if (outbox.get(id)) {
        this.submit(record.item, just);
        resumed += 1;
      }
    }
    this.#mute.review();
    return resumed;
  }

  /**
   * Stop delivering these alerts (no longer this mailer's: another took them
   * over): their queued jobs and retries are dropped when they come up (the
   * retries at once), a send under way is let finish. Submitted again later
   * (taken over back), they are delivered as new jobs.
   */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.#gens.set(id, (this.#gens.get(id) ?? 0) + 1);
    for (const lane of this.#lanes.values()) lane.queue.wake((job) => this.#forgotten(job));
  }

  #forgotten(job: Job): boolean {
    return job.gen !== (this.#gens.get(job.item.alert.id) ?? 0);
  }

  /**
   * At shutdown: start nothing more, cancel the sends under way, and wait
   * until each has settled (and its outcome is recorded) before the channels
   * let go of their connections. What is not delivered stays owed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#mute.close();
    for (const controller of this.#sending) controller.abort(new Error('the mailer is stopping'));
    for (const lane of this.#lanes.values()) lane.grouper?.close();
    await Promise.allSettled([...this.#lanes.values()].map((l) => l.queue.close()));
    await Promise.allSettled([...this.#lanes.values()].map((l) => l.route.channel.close?.()));
  }

  /** A change of silences or incidents: held deliveries looked at again; retries and group waits a silence now matches are held. */
  #policyChanged(): void {
    if (this.#closed) return;
    this.#mute.review();
    for (const lane of this.#lanes.values()) {
      lane.queue.wake((job) => this.#mute.mute(job) !== undefined);
      lane.grouper?.take((job) => (this.#mute.holds(job) ? undefined : false));
    }
  }

  /** The stages before a send (mute, told): true when the job is done without one (held, or skipped). */
  #stopped(job: Job): boolean {
    if (this.#forgotten(job) || this.#mute.holds(job)) return true;
    const { alert } = job.item;
    if (this.#told.due(alert, job.channel.name)) return false;
    this.#mute.skip(job, 'its down was never sent on this channel');
    return true;
  }

  async #attempt(job: Job): Promise<RunOutcome> {
    if (this.#closed) return 0;
    if (this.#stopped(job)) return undefined;
    const result = await this.#send(job.channel, [job.item]);
    return result === undefined ? 0 : this.#outcome(job, result);
  }

  /** One message for a group (one alert: an ordinary send), muted at its flush; each member's outcome. */
  async #attemptGroup(jobs: Job[]): Promise<RunOutcome[]> {
    if (this.#closed) return jobs.map(() => 0);
    const live = jobs.filter((job) => !this.#stopped(job));
    const outcomes = new Map<Job, RunOutcome>();
    if (live.length > 0) {
      const result = await this.#send(live[0]!.channel, live.map((j) => j.item));
      if (live.length > 1 && result !== undefined) this.#options.log.debug(`Sent ${live.length} alerts as one message via ${live[0]!.channel.name}.`, { event: 'group', channel: live[0]!.channel.name, size: live.length });
      for (const job of live) outcomes.set(job, result === undefined ? 0 : this.#outcome(job, result));
    }
    return jobs.map((job) => (outcomes.has(job) ? outcomes.get(job) : undefined));
  }

  #outcome(job: Job, result: SendResult): RunOutcome {
    const { item, channel, attempt } = job;
    const { outbox, log } = this.#options;
    const id = item.alert.id;
    if (result.ok) {
      outbox.settle(id, channel.name, 'delivered', undefined, true, !channel.repeatIsHarmless);
      this.#told.delivered(item, channel.name);
      if (channel.name !== 'log') log.info(`Delivered alert ${id} via ${channel.name}.`, { event: 'delivered', id, channel: channel.name, attempt, detail: result.detail });
      return undefined;
    }
    const now = this.#options.now?.() ?? Date.now();
    const age = now - item.receivedAt;
    if (!result.retry || age >= this.#options.maxRetryAgeMs) {
      const why = result.retry ? `still failing after ${Math.round(age / 1000)}s: ${result.error}` : result.error;
      outbox.settle(id, channel.name, 'dead', why);
      log.error(`Alert ${id} not delivered via ${channel.name} (dead letter): ${why}`, { event: 'dead', id, channel: channel.name, attempt });
      return undefined;
    }
    outbox.attempted(id, channel.name, result.error);
    if (this.#closed) return 0; // stays owed; the queue is closed and starts nothing more
    const delay = Math.min(
      Math.max(result.retryAfterMs ?? 0, backoffDelay(attempt, this.#options.backoff ?? DEFAULT_POLICY)),
      Math.max(0, this.#options.maxRetryAgeMs - age),
    );
    log.warn(`Alert ${id} via ${channel.name} failed: ${result.error}; retry ${attempt} in ${(delay / 1000).toFixed(1)}s.`, {
      event: 'retry',
      id,
      channel: channel.name,
      attempt,
    });
    job.attempt += 1;
    return delay;
  }

  /**
   * One send, cancelled (its signal aborted) when it outlives the timeout.
   * It resolves only once the channel has settled the send, so that a retry
   * can never run beside a send that may still go out. Undefined when the
   * mailer stopped before the send could start (closed, or while it waited
   * at the rate gate): no attempt, nothing to record; the alert stays owed.
   */
  async #send(channel: Channel, items: QueuedAlert[]): Promise<SendResult | undefined> {
    if (this.#closed) return undefined;
    const limit = this.#options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    const gate = this.#lanes.get(channel.name)!.gate;
    const controller = new AbortController();
    this.#sending.add(controller);
    // The deadline runs from when the destination may take the send, not while it waits its turn.
    if (!gate.tryTake() && !(await gate.take(controller.signal))) {
      this.#sending.delete(controller);
      return undefined;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no answer within ${Math.round(limit / 1000)}s`));
    }, limit);
    try {
      const result = items.length === 1 || !channel.sendGroup ? await channel.send(items[0]!, { signal: controller.signal }) : await channel.sendGroup(items, { signal: controller.signal });
      gate.hold(result.ok ? (result.holdMs ?? 0) : (result.retryAfterMs ?? 0));
      if (!result.ok && timedOut) return transient(`no answer within ${limit >= 1000 ? `${Math.round(limit / 1000)}s` : `${limit}ms`} (send cancelled)`);
      return result;
    } catch (err) {
      return transient(`channel threw: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.#sending.delete(controller);
    }
  }
}

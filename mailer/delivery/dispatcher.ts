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
 * 4. told (told-stage.ts): an up naming an incident goes only to a channel
 *    told its down (notify-log.ts, the nflog; with several mailers, asked of
 *    the store); elsewhere it is settled as skipped;
 * 5. rate: the channel's rate limit and its destination's pauses (rate-gate.ts);
 * 6. send, with its deadline (timed-send.ts);
 * 7. record: the outcome, and the nflog (record-outcome.ts).
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
import type { BackoffPolicy } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SendResult } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import type { Route } from './channel-setup.ts';
import type { DestinationOwner } from './destination-owner.ts';
import { Grouper } from './grouper.ts';
import { KeyedQueue, type RunOutcome } from './keyed-queue.ts';
import { MuteStage } from './mute-stage.ts';
import { NotifyLog } from './notify-log.ts';
import { type Job, recordOutcome } from './record-outcome.ts';
import type { NotifyPolicy } from '../notify-policy.ts';
import { RateGate } from './rate-gate.ts';
import { timedSend } from './timed-send.ts';
import { type ToldOf, ToldStage } from './told-stage.ts';
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
  /** Several mailers on one database: the store's word on an incident the nflog does not know (Store.toldOf). */
  toldOf?: ToldOf;
  /** Several mailers on one database: each grouping or rate-limited destination's owner (destination-owner.ts). */
  owner?: DestinationOwner;
  now?: () => number;
}

/** Sends at once on a channel that does not say (log, file). */
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SEND_TIMEOUT_MS = 120_000;

interface Lane {
  route: Route;
  queue: KeyedQueue<Job>;
  gate: RateGate;
  grouper?: Grouper<Job>;
}

/** What the stages before a send say: false, send it; true, done without; a failure (the store could not answer), retried. */
type Stop = boolean | SendResult;

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
  readonly #log: NotifyLog;
  readonly #told: ToldStage;
  /** Per alert forgotten (another mailer took it over): bumped at each forget, so its older jobs are dropped. */
  readonly #gens = new Map<string, number>();
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#log = options.notifyLog ?? new NotifyLog();
    this.#told = new ToldStage(this.#log, options.toldOf);
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
    for (const { route, queue, grouper } of this.#lanes.values()) {
      const { channel } = route;
      if (only && !only.includes(channel.name)) continue;
      const state = record?.channels[channel.name];
      // A resumed alert goes only to the channels that still owe it; a new one to those it matches.
      if (record ? !state || !isOwed(state.state) : route.match && !route.match(item.alert)) continue;
      const job = { item, channel, attempt: (state?.attempts ?? 0) + 1, gen: this.#gens.get(item.alert.id) ?? 0 };
      if (state?.state === 'silenced') this.#mute.restore(job);
      // Several mailers: a destination another mailer owns is handed to it (destination-owner.ts); kept here if that fails.
      else if (!this.#options.owner?.handOver(item.alert.id, { channel: channel.name, grouping: grouper !== undefined, rateLimited: channel.rateLimit !== undefined, to: item.alert.to }, () => queue.add(job))) queue.add(job);
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

  /**
   * The stages before a send (mute, told): true when the job is done without
   * one (held, or skipped); a failure to retry when the store could not say
   * what was told. Synchronous unless the store is asked; mute is looked at
   * again after waiting for it.
   */
  #stopped(job: Job): Stop | Promise<Stop> {
    if (this.#forgotten(job) || this.#mute.holds(job)) return true;
    const due = this.#told.due(job.item.alert, job.channel.name);
    if (!(due instanceof Promise)) return this.#toldSays(job, due);
    return due.then((answer) => (this.#closed || this.#forgotten(job) || this.#mute.holds(job) ? true : this.#toldSays(job, answer)));
  }

  #toldSays(job: Job, due: boolean | SendResult): Stop {
    if (due === true) return false;
    if (due !== false) return due;
    this.#mute.skip(job, 'its down was never sent on this channel');
    return true;
  }

  async #attempt(job: Job): Promise<RunOutcome> {
    if (this.#closed) return 0;
    let stopped = this.#stopped(job);
    if (stopped instanceof Promise) stopped = await stopped;
    if (stopped !== false) return stopped === true ? (this.#closed ? 0 : undefined) : this.#outcome(job, stopped);
    const result = await this.#send(job.channel, [job.item]);
    return result === undefined ? 0 : this.#outcome(job, result);
  }

  /** One message for a group (one alert: an ordinary send), muted at its flush; each member's outcome. */
  async #attemptGroup(jobs: Job[]): Promise<RunOutcome[]> {
    if (this.#closed) return jobs.map(() => 0);
    const stops = await Promise.all(jobs.map((job) => this.#stopped(job)));
    const outcomes = new Map<Job, RunOutcome>();
    jobs.forEach((job, i) => typeof stops[i] === 'object' && outcomes.set(job, this.#outcome(job, stops[i])));
    const live = jobs.filter((_, i) => stops[i] === false);
    if (live.length > 0) {
      const result = await this.#send(live[0]!.channel, live.map((j) => j.item));
      if (live.length > 1 && result !== undefined) this.#options.log.debug(`Sent ${live.length} alerts as one message via ${live[0]!.channel.name}.`, { event: 'group', channel: live[0]!.channel.name, size: live.length });
      for (const job of live) outcomes.set(job, result === undefined ? 0 : this.#outcome(job, result));
    }
    return jobs.map((job) => (outcomes.has(job) ? outcomes.get(job) : undefined));
  }

  #outcome(job: Job, result: SendResult): RunOutcome {
    const { outbox, log, maxRetryAgeMs, backoff } = this.#options;
    return recordOutcome(job, result, { outbox, log, told: this.#log, maxRetryAgeMs, backoff, now: this.#options.now?.() ?? Date.now(), closed: this.#closed });
  }

  /** One send through the channel's rate gate, with its deadline (timed-send.ts); undefined: the mailer stopped first. */
  #send(channel: Channel, items: QueuedAlert[]): Promise<SendResult | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    return timedSend(channel, items, this.#lanes.get(channel.name)!.gate, this.#options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, this.#sending);
  }
}

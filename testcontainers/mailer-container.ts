/**
 * Ch2MailerContainer: the ch2 mailer (ch2/mailer) for a user's own tests, in
 * testcontainers' conventions: configure with with…() methods, start(), then
 * ask the started container. Ready when it logs `CH2 Example Mailer has
 * started.` (listening; about a second), not at the image's healthcheck.
 *
 * A random token is made for every container (withToken sets one, or
 * withToken(null) runs it without): the hub shows alerts only to the token's
 * holder, so alerts(), waitForAlert() and silence() work from the test's host,
 * and an agent given withMailer() sends it. With a token the mailer shuts the
 * book's raw protocol; withRaw() opens it again. Without a token, alerts() asks
 * on the mailer's own loopback (docker exec) and waitForAlert() cannot work.
 *
 * stop() (and `await using`) removes the container with its store volume.
 */
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, type StopOptions, type StoppedTestContainer, Wait } from 'testcontainers';
import { type AlertMatch, AlertStream, type Ch2Alert, type WaitForAlertOptions } from './alert-stream.ts';
import { commandOf, configCopy, copyInto, defaultImage, pluginCopy, randomHex } from './config-copy.ts';

/** The mailer's one port: raw text and HTTP (alerts, reports, the status page). */
export const MAILER_PORT = 33333;
const STARTED = /CH2 Example Mailer has started\./;

/** Something that gives an SMTP URL for a container on its network (a started Ch2SmtpSinkContainer). */
export interface SmtpServer {
  getSmtpUrl(): string;
}

export class Ch2MailerContainer extends GenericContainer {
  #token: string | undefined = `ch2-test-${randomHex(16)}`;
  readonly #flags: string[] = [];
  #plugins = 0;

  /** image: default ch2/mailer:<CH2_IMAGE_TAG or latest>. */
  constructor(image: string = defaultImage('mailer')) {
    super(image);
    this.withExposedPorts(MAILER_PORT).withWaitStrategy(Wait.forLogMessage(STARTED)).withStartupTimeout(30_000);
  }

  /** The mailer's --token (16+ printable characters); null: none (then GET /alerts answers loopback only, and raw is on). */
  withToken(token: string | null): this {
    this.#token = token ?? undefined;
    return this;
  }

  /** A channel URL (--notify), e.g. `slack://hooks.slack.com/services/…?api=http://sink:8025/hooks/slack`. Repeatable. */
  withNotify(url: string): this {
    this.#flags.push('--notify', url);
    return this;
  }

  /** Your own channel module (a .mjs file on the host), copied in and loaded with --channel-module. Repeatable. */
  withChannelModule(file: string): this {
    const copy = pluginCopy(file, ++this.#plugins);
    this.withCopyFilesToContainer([copy]);
    this.#flags.push('--channel-module', copy.target);
    return this;
  }

  /** A --config of channels and routes: a host file (.json, else YAML) or an object. */
  withConfig(config: string | object): this {
    const copy = configCopy(config, 'mailer');
    copyInto(this, copy);
    this.#flags.push('--config', copy.target);
    return this;
  }

  /** The recipients allowed (--to); the first is the default. */
  withTo(...recipients: string[]): this {
    this.#flags.push('--to', recipients.join(','));
    return this;
  }

  /** Real e-mail (--smtp): a URL, or a started Ch2SmtpSinkContainer on the mailer's network. */
  withSmtp(server: string | SmtpServer): this {
    this.#flags.push('--smtp', typeof server === 'string' ? server : server.getSmtpUrl());
    return this;
  }

  /** The book's raw text protocol on (--raw) or off (--no-raw) whatever the token. */
  withRaw(on = true): this {
    this.#flags.push(on ? '--raw' : '--no-raw');
    return this;
  }

  /** Any other flags, as `docker run ch2/mailer …` takes them (see the README's table). */
  withArgs(...args: string[]): this {
    this.#flags.push(...args);
    return this;
  }

  override async start(): Promise<StartedCh2MailerContainer> {
    // A mailer on a network gets an alias there, for the agents on it (withMailer).
    if (this.networkMode !== undefined && !['bridge', 'host', 'none'].includes(this.networkMode) && this.networkAliases.length === 0) {
      this.withNetworkAliases(`ch2-mailer-${randomHex(3)}`);
    }
    if (this.#token !== undefined) this.withEnvironment({ MAILER_TOKEN: this.#token });
    this.withCommand(commandOf(this.#flags, this.createOpts.Cmd));
    const started = await super.start();
    const url = `http://${started.getHost()}:${started.getMappedPort(MAILER_PORT)}`;
    let stream: AlertStream | undefined;
    try {
      if (this.#token !== undefined) stream = await AlertStream.open(url, this.#token);
    } catch (err) {
      await started.stop();
      throw err;
    }
    return new StartedCh2MailerContainer(started, { url, token: this.#token, network: this.networkMode, aliases: [...this.networkAliases], stream });
  }
}

/** A silence, as POST /api/v1/silences takes it: a target glob and/or match, for a duration or until a time. */
export interface SilenceRequest {
  target?: string;
  match?: { targets?: string[]; to?: string[]; status?: ('down' | 'up')[]; channels?: string[] };
  /** `2h`, `30m`. */
  for?: string;
  until?: string;
  startsAt?: string;
  comment?: string;
}

/** One alert of GET /alerts: the alert and each channel's progress on it. */
export interface Ch2StoredAlert {
  id: string;
  alert: Omit<Ch2Alert, 'incident' | 'receivedAt' | 'held'> & { incident?: string };
  line: string;
  via: 'raw' | 'json';
  receivedAt: string;
  channels: Record<string, { state: string; attempts?: number; error?: string }>;
  deadAt?: string;
  finishedAt?: string;
}

interface StartedMailerInfo {
  url: string;
  token: string | undefined;
  network: string | undefined;
  aliases: string[];
  stream: AlertStream | undefined;
}

export class StartedCh2MailerContainer extends AbstractStartedContainer {
  readonly #info: StartedMailerInfo;

  constructor(started: StartedTestContainer, info: StartedMailerInfo) {
    super(started);
    this.#info = info;
  }

  /** http://<host>:<mapped port>: the mailer's HTTP API and status page from the test. */
  getUrl(): string {
    return this.#info.url;
  }

  /** Its --token (undefined after withToken(null)). */
  getToken(): string | undefined {
    return this.#info.token;
  }

  /** The network it was started on (withNetwork), if any, and its aliases there. */
  getNetworkMode(): string | undefined {
    return this.#info.network;
  }

  getNetworkAliases(): string[] {
    return [...this.#info.aliases];
  }

  /** GET /alerts?state=…: pending (the default), sent, dead or silenced; newest first, up to 1,000. */
  async alerts(options: { state?: 'pending' | 'sent' | 'dead' | 'silenced' } = {}): Promise<Ch2StoredAlert[]> {
    const path = `/alerts?state=${options.state ?? 'pending'}&limit=1000`;
    const { status, text } = this.#info.token !== undefined ? await this.#request('GET', path) : await this.#onLoopback(path);
    if (status !== 200) throw new Error(`GET ${path} answered ${status}: ${text}`);
    return (JSON.parse(text) as { alerts: Ch2StoredAlert[] }).alerts;
  }

  /** Every alert the mailer accepted since it started, in order (from its event stream). */
  receivedAlerts(): Ch2Alert[] {
    return this.#stream('receivedAlerts').alerts;
  }

  /**
   * The first alert since start (or `since`) whose fields equal those of `match`
   * (a RegExp matches a string field), as soon as the mailer accepts it: one that
   * already arrived counts. Rejects after `timeout` ms (10 000) with an
   * AlertTimeoutError listing what did arrive.
   */
  waitForAlert(match: AlertMatch, options: WaitForAlertOptions = {}): Promise<Ch2Alert> {
    return this.#stream('waitForAlert').waitFor(match, options);
  }

  /** Add a silence (POST /api/v1/silences); resolves with it (its id, until, …). */
  async silence(silence: SilenceRequest): Promise<{ id: string; until: string } & SilenceRequest> {
    if (this.#info.token === undefined) throw new Error('silence() needs the mailer started with a token (it is given one unless withToken(null))');
    const { status, text } = await this.#request('POST', '/api/v1/silences', silence);
    if (status !== 201) throw new Error(`POST /api/v1/silences answered ${status}: ${text}`);
    return JSON.parse(text) as { id: string; until: string } & SilenceRequest;
  }

  /** Stops and removes the container and its store volume. */
  override stop(options: Partial<StopOptions> = {}): Promise<StoppedTestContainer> {
    this.#info.stream?.close();
    return super.stop({ removeVolumes: true, ...options });
  }

  #stream(what: string): AlertStream {
    if (!this.#info.stream) throw new Error(`${what}() follows the mailer's event stream, which needs a token: do not use withToken(null), nor --status-page off`);
    return this.#info.stream;
  }

  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#info.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.#info.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(10_000) });
    return { status: res.status, text: await res.text() };
  }

  /** Without a token GET /alerts answers loopback only: ask from inside the container. */
  async #onLoopback(path: string): Promise<{ status: number; text: string }> {
    const script = `fetch('http://127.0.0.1:${MAILER_PORT}' + process.argv[1]).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })))`;
    const r = await this.exec(['node', '-e', script, path]);
    if (r.exitCode !== 0) throw new Error(`GET ${path} on the mailer's loopback failed: ${r.stderr || r.output}`);
    return JSON.parse(r.stdout) as { status: number; text: string };
  }
}

/**
 * Ch2SmtpSinkContainer: ch2's SMTP sink test fixture (ch2/smtp-sink, built by
 * `bash scripts/images.sh` in a ch2 checkout from test/fixtures/smtp-sink/):
 * a real SMTP server on 2525 that keeps every message, and a webhook receiver,
 * both read over HTTP on 8025. STARTTLS is off (its certificate is
 * self-signed), so a mailer's `withSmtp(sink)` sends in clear on the test
 * network. Ready when it logs that it listens.
 */
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { randomHex } from './config-copy.ts';

export const SMTP_PORT = 2525;
export const SINK_HTTP_PORT = 8025;

/** One e-mail the sink received. */
export interface SinkMessage {
  from: string;
  to: string[];
  user: string | null;
  secure: boolean;
  subject: string;
  text: string;
  raw: string;
  receivedAt: string;
}

/** One request to its webhook receiver (POST /hooks/<name>). */
export interface SinkHook {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, or null. */
  json: unknown;
  /** The status the sink answered. */
  status: number;
  receivedAt: string;
}

export class Ch2SmtpSinkContainer extends GenericContainer {
  constructor(image = 'ch2/smtp-sink:latest') {
    super(image);
    this.withEnvironment({ SMTP_STARTTLS: 'off' })
      .withExposedPorts(SMTP_PORT, SINK_HTTP_PORT)
      .withWaitStrategy(Wait.forLogMessage(/smtp-sink listening/))
      .withStartupTimeout(30_000);
  }

  override async start(): Promise<StartedCh2SmtpSinkContainer> {
    if (this.networkMode !== undefined && !['bridge', 'host', 'none'].includes(this.networkMode) && this.networkAliases.length === 0) {
      this.withNetworkAliases(`ch2-smtp-${randomHex(3)}`);
    }
    const started = await super.start();
    return new StartedCh2SmtpSinkContainer(started, this.networkAliases[0], `http://${started.getHost()}:${started.getMappedPort(SINK_HTTP_PORT)}`);
  }
}

export class StartedCh2SmtpSinkContainer extends AbstractStartedContainer {
  readonly #alias: string | undefined;
  readonly #api: string;

  constructor(started: StartedTestContainer, alias: string | undefined, api: string) {
    super(started);
    this.#alias = alias;
    this.#api = api;
  }

  /** smtp://<alias>:2525?tls=off: for a mailer on the same network (withSmtp(sink) uses it). */
  getSmtpUrl(): string {
    if (this.#alias === undefined) throw new Error('getSmtpUrl(): start the sink on a network (withNetwork) so a mailer can reach it by name');
    return `smtp://${this.#alias}:${SMTP_PORT}?tls=off`;
  }

  /** http://<alias>:8025/hooks/<name>: a webhook URL for a mailer on the same network. */
  getHookUrl(name: string): string {
    if (this.#alias === undefined) throw new Error('getHookUrl(): start the sink on a network (withNetwork)');
    return `http://${this.#alias}:${SINK_HTTP_PORT}/hooks/${name}`;
  }

  /** Its HTTP API from the test: http://<host>:<mapped port>. */
  getApiUrl(): string {
    return this.#api;
  }

  /** Every e-mail received so far, oldest first. */
  async messages(): Promise<SinkMessage[]> {
    return (await this.#get('/messages')) as SinkMessage[];
  }

  /** Every webhook request received so far. */
  async hooks(): Promise<SinkHook[]> {
    return (await this.#get('/hooks')) as SinkHook[];
  }

  /** Forget the messages and the webhook requests. */
  async clear(): Promise<void> {
    for (const path of ['/messages', '/hooks']) await fetch(`${this.#api}${path}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) }).then((r) => r.arrayBuffer());
  }

  async #get(path: string): Promise<unknown> {
    const res = await fetch(`${this.#api}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text);
  }
}

/**
 * Ch2AgentContainer: the ch2 agent (ch2/agent) for a user's own tests. It
 * serves its metrics on port 9100 (getMetrics()), and is ready when it logs
 * its first check (`System up.`, `System down: …` or `Watching …`; about a
 * second), not at the image's healthcheck.
 *
 * withMailer(startedMailer) points it at a started Ch2MailerContainer with
 * the mailer's token: on the network they share, by the mailer's alias there
 * (or its address on a network without aliases, the default bridge); on none,
 * through the Docker host at the mailer's published port.
 */
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, type StopOptions, type StoppedTestContainer, Wait } from 'testcontainers';
import { commandOf, configCopy, copyInto, defaultImage } from './config-copy.ts';
import { MAILER_PORT, type StartedCh2MailerContainer } from './mailer-container.ts';

/** Where the agent serves /metrics and /healthz (--metrics-port). */
export const METRICS_PORT = 9100;
const GATEWAY = 'host.docker.internal';

/** A duration as the agent takes it: `500ms`, `2s`, or a number of ms. */
export type Duration = string | number;
const duration = (d: Duration): string => (typeof d === 'number' ? `${d}ms` : d);

const FIRST_LINE = /System up\.|System down: |Watching /;

export class Ch2AgentContainer extends GenericContainer {
  readonly #flags: string[] = [];
  #mailer: StartedCh2MailerContainer | string | undefined;
  #metrics = true;

  /** image: default ch2/agent:<CH2_IMAGE_TAG or latest>. */
  constructor(image: string = defaultImage('agent')) {
    super(image);
    this.withWaitStrategy(Wait.forLogMessage(FIRST_LINE)).withStartupTimeout(30_000);
  }

  /** No --metrics-port (the agent as `docker run ch2/agent` starts it), and so no getMetrics(). */
  withoutMetrics(): this {
    this.#metrics = false;
    return this;
  }

  /** A URL to check (--target): http(s)://…, tcp://host:port, dns://…. Repeatable. */
  withTarget(url: string): this {
    this.#flags.push('--target', url);
    return this;
  }

  /** A --config of targets: a host file (.json, else YAML) or an object ({ targets: [...] }). */
  withConfig(config: string | object): this {
    const copy = configCopy(config, 'agent');
    copyInto(this, copy);
    this.#flags.push('--config', copy.target);
    return this;
  }

  /** Where alerts and reports go: a started Ch2MailerContainer (its token too), or an address (`host:port`). */
  withMailer(mailer: StartedCh2MailerContainer | string): this {
    this.#mailer = mailer;
    return this;
  }

  /** Time between checks (--interval). */
  withInterval(interval: Duration): this {
    this.#flags.push('--interval', duration(interval));
    return this;
  }

  /** Its name in reports and alerts (--agent-name). */
  withAgentName(name: string): this {
    this.#flags.push('--agent-name', name);
    return this;
  }

  /** Any other flags, as `docker run ch2/agent …` takes them (see the README's table). */
  withArgs(...args: string[]): this {
    this.#flags.push(...args);
    return this;
  }

  override async start(): Promise<StartedCh2AgentContainer> {
    const flags = this.#metrics ? ['--metrics-port', String(METRICS_PORT), ...this.#flags] : [...this.#flags];
    if (this.#metrics) this.withExposedPorts(METRICS_PORT);
    const mailer = this.#mailer;
    if (typeof mailer === 'string') flags.push('--mailer', mailer);
    else if (mailer !== undefined) {
      flags.push('--mailer', this.#addressOf(mailer));
      const token = mailer.getToken();
      if (token !== undefined) this.withEnvironment({ MAILER_TOKEN: token });
    }
    this.withCommand(commandOf(flags, this.createOpts.Cmd));
    const started = await super.start();
    return new StartedCh2AgentContainer(started, this.#metrics ? `http://${started.getHost()}:${started.getMappedPort(METRICS_PORT)}` : undefined);
  }

  /** The mailer as this agent reaches it: its alias or address on a network they share, else the Docker host's published port. */
  #addressOf(mailer: StartedCh2MailerContainer): string {
    const mine = this.networkMode ?? 'bridge';
    if (mailer.getNetworkNames().includes(mine)) {
      const alias = mailer.getNetworkMode() === mine ? mailer.getNetworkAliases()[0] : undefined;
      return `${alias ?? mailer.getIpAddress(mine)}:${MAILER_PORT}`;
    }
    this.withExtraHosts([{ host: GATEWAY, ipAddress: 'host-gateway' }]);
    return `${GATEWAY}:${mailer.getMappedPort(MAILER_PORT)}`;
  }
}

export class StartedCh2AgentContainer extends AbstractStartedContainer {
  readonly #metricsUrl: string | undefined;

  constructor(started: StartedTestContainer, metricsUrl: string | undefined) {
    super(started);
    this.#metricsUrl = metricsUrl;
  }

  /** http://<host>:<mapped port>/metrics. */
  getMetricsUrl(): string {
    if (this.#metricsUrl === undefined) throw new Error('getMetrics(): the agent was started withoutMetrics()');
    return `${this.#metricsUrl}/metrics`;
  }

  /** The Prometheus text of /metrics (ch2_target_up, ch2_alerts_total, …: the README's Metrics). */
  async getMetrics(): Promise<string> {
    const res = await fetch(this.getMetricsUrl(), { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
    return text;
  }

  /** Stops and removes the container (testcontainers' default: at once, no grace; pass { timeout } for the agent's goodbye report). */
  override stop(options: Partial<StopOptions> = {}): Promise<StoppedTestContainer> {
    return super.stop({ removeVolumes: true, ...options });
  }
}

/**
 * The kept-alive connections every HTTP target shares: one node:http (or
 * node:https) Agent per origin, with `keepAlive`. An origin's agent may open
 * as many connections as the origin has targets (each target has at most one
 * check in flight, so a hanging target never holds up another), up to
 * MAX_CONNECTIONS_PER_ORIGIN, and keeps them all when idle (maxFreeSockets).
 * Idle connections close after three intervals (at least 4 s), or sooner when
 * the server's `Keep-Alive: timeout=` hint says so.
 *
 * Two backends, chosen once, at the first check, for the whole agent:
 *   - node:http (this file, http-probe.ts) below UNDICI_CHECKS_PER_SECOND:
 *     its parser is llhttp compiled into the node binary, where undici loads
 *     it as WebAssembly (about 23 MB more RSS at idle, and its compile time at
 *     start). The book's one target a second runs on it.
 *   - undici (http-undici.ts, imported only then) from UNDICI_CHECKS_PER_SECOND
 *     on: a node:http check costs about 1.6 times the CPU of an undici dispatch
 *     (measured: ~45 vs ~28 µs user+sys per kept-alive check on loopback; 5,000
 *     targets at 1 Hz took 47-49 % of a core against 24-28 %). At 200 checks a
 *     second the difference is under 0.5 % of a core; above it undici's memory
 *     is the better buy.
 *
 * Connect timeouts: node:http has none, so the agents' createConnection arms
 * one per new connection, from the request's `connectTimeoutMs` (the target's
 * own, or a confirming check's shorter one). It fails the check with
 * CONNECT_TIMEOUT_CODE (probe.ts names it "connect timeout after …").
 *
 * When a server closes a kept-alive connection (nginx does as it stops), the
 * origin is reported through `onServerClose`, so its targets can check again
 * at once instead of at their next tick. A server's close is:
 *   - a FIN ('end') or a reset (ECONNRESET) on a connection with a request on
 *     it, unless that response had said `Connection: close` on a connection
 *     that never stayed open (a server that closes after every answer): a
 *     `Connection: close` on a connection that was kept alive before is how
 *     nginx answers the request in flight as it stops (SIGQUIT), and missing
 *     it cost the next check a full connect timeout on the stopped container's
 *     silent address (about 1 trial in 20 took 2.4 s to detect);
 *   - any close of an idle connection in the pool, except the agent's own idle
 *     timeout and our shutdown. (Node's pool watches idle sockets for data and
 *     destroys them on EOF or reset without an 'end' or 'error' event, so
 *     'close' is what is left to see.)
 * Our own closes (a check's timeout, enough of a body read, the idle timeout,
 * shutdown) are not reported.
 *
 * Confirming checks go through `freshAgent`: no keep-alive, so each opens a
 * connection of its own (with its short connect timeout) and closes it after
 * the answer. Its connections are not watched.
 *
 * With `sockets` (the open-file limit is below what the targets could use:
 * descriptors.ts) every connection is counted there, and an idle one may be
 * closed to make room for another origin's (check-sockets.ts); that close is
 * ours, not reported. The checks then run on node:http whatever their rate:
 * undici keeps its idle connections to itself.
 */
import type { Agent as HttpAgent, ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CheckSockets } from './check-sockets.ts';
import type { OriginSettings, UndiciConnections } from './http-undici.ts';
import { CONNECT_TIMEOUT_CODE } from './probe.ts';
import { sharedLookup } from '../lookup.ts';
import type { TargetSpec } from '../target.ts';
import { type TlsTrust, tlsTrustOf } from './tls-trust.ts';

export const MAX_CONNECTIONS_PER_ORIGIN = 1024;
// node:http through process.getBuiltinModule, not an ESM import: importing it as ESM builds
// its namespace, whose lazy getters (WebSocket and friends) load node's own undici with TLS,
// HTTP/2, zlib and web streams: about 14 MB of RSS the agent never uses.
const { Agent: NodeHttpAgent } = process.getBuiltinModule('node:http');
/** From this many HTTP checks a second (over all targets) the checks run on undici. */
export const UNDICI_CHECKS_PER_SECOND = 200;
/** Idle connections close after this many intervals (at least MIN_KEEP_ALIVE_MS). */
const KEEP_ALIVE_INTERVALS = 3;
const MIN_KEEP_ALIVE_MS = 4000;
/** TCP keep-alive probes on idle connections start after this long (as undici did). */
const TCP_KEEP_ALIVE_DELAY_MS = 60_000;

/** The request options a check passes: the connect timeout for a new connection. */
export interface ConnectOptions {
  connectTimeoutMs?: number;
}

export interface HttpConnectionsOptions {
  onServerClose?: (origin: string) => void;
  /** 'auto' (the default): by the checks a second, see the header. */
  backend?: 'auto' | 'node' | 'undici';
  /** The checks' sockets within the descriptors for them (see the header); 'auto' is then node:http. */
  sockets?: CheckSockets;
}

type ProbeAgent = HttpAgent;
type CreateConnection = (options: ClientRequestArgs & ConnectOptions, callback?: (err: Error | null, stream: Duplex) => void) => Duplex | null | undefined;

interface OriginEntry {
  agent: ProbeAgent;
  targets: number;
  keepAliveMs: number;
  connectTimeoutMs: number;
  /** https: the TLS options of the origin's connections (its targets' trust). */
  tls?: TlsTrust['options'];
}

export class HttpConnections {
  readonly #origins = new Map<string, OriginEntry>();
  readonly #fresh = new Map<string, ProbeAgent>();
  /** Connections that went idle in the pool at least once (were kept alive). */
  readonly #keptAlive = new WeakSet<Duplex>();
  readonly #onServerClose: ((origin: string) => void) | undefined;
  readonly #backend: 'auto' | 'node' | 'undici';
  readonly #sockets: CheckSockets | undefined;
  #checksPerSecond = 0;
  /** undefined: not decided yet; null: node:http. */
  #undici: Promise<UndiciConnections> | null | undefined;
  #closing = false;

  constructor(options: HttpConnectionsOptions = {}) {
    this.#onServerClose = options.onServerClose;
    this.#backend = options.backend ?? 'auto';
    this.#sockets = options.sockets;
  }

  /** The checks' backend, decided at the first call: undici's connections (loading), or undefined for node:http. */
  undici(): Promise<UndiciConnections> | undefined {
    if (this.#undici === undefined) {
      const use = this.#backend === 'undici' || (this.#backend === 'auto' && !this.#sockets && this.#checksPerSecond >= UNDICI_CHECKS_PER_SECOND);
      this.#undici = use ? this.#loadUndici() : null;
    }
    return this.#undici ?? undefined;
  }

  async #loadUndici(): Promise<UndiciConnections> {
    const { UndiciConnections } = await import('./http-undici.ts');
    const origins = new Map<string, OriginSettings>();
    for (const [key, e] of this.#origins) {
      origins.set(key, { targets: Math.max(1, e.targets), connectTimeoutMs: e.connectTimeoutMs, keepAliveMs: e.keepAliveMs, maxConnections: MAX_CONNECTIONS_PER_ORIGIN, ...(e.tls ? { tls: e.tls } : {}) });
    }
    return new UndiciConnections(origins, (origin) => {
      if (!this.#closing) this.#onServerClose?.(origin);
    });
  }

  /** Counts a target toward its origin's connections; call for every HTTP target before its first check. */
  register(spec: Pick<TargetSpec, 'url' | 'connectTimeoutMs' | 'intervalMs' | 'caFile' | 'caPem' | 'insecure'>): string {
    const key = spec.url.origin;
    const keepAliveMs = Math.max(MIN_KEEP_ALIVE_MS, spec.intervalMs * KEEP_ALIVE_INTERVALS);
    this.#checksPerSecond += 1000 / spec.intervalMs;
    const known = this.#origins.get(key);
    if (known && known.targets > 0) {
      known.targets += 1;
      known.keepAliveMs = Math.max(known.keepAliveMs, keepAliveMs);
      known.connectTimeoutMs = Math.max(known.connectTimeoutMs, spec.connectTimeoutMs);
    } else if (known) {
      // The agent was made by a check before any registration (tests).
      known.targets = 1;
      known.keepAliveMs = keepAliveMs;
      known.connectTimeoutMs = spec.connectTimeoutMs;
    } else {
      this.#origins.set(key, this.#pooled(spec.url, key, 1, keepAliveMs, spec.connectTimeoutMs, spec.url.protocol === 'https:' ? tlsTrustOf(spec) : undefined));
    }
    const entry = this.#origins.get(key)!;
    const sockets = Math.min(entry.targets, MAX_CONNECTIONS_PER_ORIGIN);
    entry.agent.maxSockets = sockets;
    entry.agent.maxFreeSockets = sockets;
    return key;
  }

  /** The kept-alive agent of the URL's origin (`trust`: https only; the origin's targets trust alike). */
  agentFor(url: URL, trust?: TlsTrust): HttpAgent {
    const key = url.origin;
    let entry = this.#origins.get(key);
    if (!entry) {
      entry = this.#pooled(url, key, 0, MIN_KEEP_ALIVE_MS, 10_000, trust);
      this.#origins.set(key, entry);
    }
    return entry.agent;
  }

  /** An agent without keep-alive: every request on it opens a connection of its own. */
  freshAgentFor(url: URL, trust?: TlsTrust): HttpAgent {
    const https = url.protocol === 'https:';
    const key = https ? `https: ${trust?.key ?? 'default'}` : 'http:';
    let agent = this.#fresh.get(key);
    if (!agent) {
      agent = makeAgent(https, { keepAlive: false }, trust);
      withConnectTimeout(agent, https, undefined, this.#sockets);
      this.#fresh.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const { agent } of this.#origins.values()) agent.destroy();
    for (const agent of this.#fresh.values()) agent.destroy();
    if (this.#undici) await (await this.#undici).close();
  }

  #pooled(url: URL, origin: string, targets: number, keepAliveMs: number, connectTimeoutMs: number, trust: TlsTrust | undefined): OriginEntry {
    const https = url.protocol === 'https:';
    const agent = makeAgent(
      https,
      {
        keepAlive: true,
        keepAliveMsecs: TCP_KEEP_ALIVE_DELAY_MS,
        maxSockets: 1,
        maxFreeSockets: 1,
        scheduling: 'fifo',
      },
      trust,
    );
    const entry: OriginEntry = { agent, targets, keepAliveMs, connectTimeoutMs, ...(trust ? { tls: trust.options } : {}) };
    const sockets = this.#sockets;
    withConnectTimeout(agent, https, (socket) => this.#watch(socket, origin), sockets);
    // The idle timeout, set as a connection goes idle rather than through the agent's
    // `timeout` option: that option also costs every request a 'timeout' listener.
    agent.keepSocketAlive = (socket: Duplex): boolean => {
      const keep = keepIdle(socket as Socket, entry.keepAliveMs, TCP_KEEP_ALIVE_DELAY_MS);
      if (keep) {
        this.#keptAlive.add(socket);
        sockets?.idled(socket);
      }
      return keep;
    };
    if (sockets) {
      const reuseSocket = agent.reuseSocket;
      agent.reuseSocket = (socket, req): void => {
        sockets.busy(socket);
        reuseSocket.call(agent, socket, req);
      };
    }
    return entry;
  }

  /** Reports the server's close of `socket` (see the header). */
  #watch(socket: Duplex, origin: string): void {
    let serverClosed = false;
    let idleExpired = false;
    const inUse = (): { shouldKeepAlive?: boolean } | null | undefined => (socket as Socket & { _httpMessage?: { shouldKeepAlive?: boolean } | null })._httpMessage;
    socket.on('end', () => {
      serverClosed = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') serverClosed = true;
    });
    socket.on('timeout', () => {
      // The agent destroys a connection that times out while idle: its own close.
      if (!inUse()) idleExpired = true;
    });
    socket.on('close', () => {
      if (this.#closing || this.#sockets?.evicted(socket)) return;
      const req = inUse();
      // A `Connection: close` answer: node closes its side itself (often before the server's FIN).
      const report = req ? (req.shouldKeepAlive === false ? this.#keptAlive.has(socket) : serverClosed) : !idleExpired;
      if (report) this.#onServerClose?.(origin);
    });
  }
}

/**
 * What node:http's keepSocketAlive does, with our idle timeout: TCP keep-alive,
 * unref, and a socket timeout (after which the agent destroys the idle socket) of
 * `idleMs`, or of the server's `Keep-Alive: timeout=N` hint less a second when that
 * is shorter. False (close it now) when the hint leaves less than a second.
 */
function keepIdle(socket: Socket, idleMs: number, tcpKeepAliveMs: number): boolean {
  socket.setKeepAlive(true, tcpKeepAliveMs);
  socket.unref();
  let timeout = idleMs;
  const hint = (socket as Socket & { _httpMessage?: { res?: { headers: Record<string, unknown> } } | null })._httpMessage?.res?.headers['keep-alive'];
  if (typeof hint === 'string') {
    const seconds = /^timeout=(\d+)/.exec(hint)?.[1];
    if (seconds !== undefined) {
      const hinted = Number(seconds) * 1000 - 1000;
      if (hinted <= 0) return false;
      timeout = Math.min(timeout, hinted);
    }
  }
  if (socket.timeout !== timeout) socket.setTimeout(timeout);
  return true;
}

function makeAgent(https: boolean, options: ConstructorParameters<typeof HttpAgent>[0], trust?: TlsTrust): ProbeAgent {
  // node:https (and TLS with it: ~6 MB of RSS) is loaded only for an https target.
  const withLookup = { ...options, lookup: sharedLookup } as typeof options;
  return https ? new (process.getBuiltinModule('node:https').Agent)({ ...withLookup, ...(trust ?? tlsTrustOf({})).options }) : new NodeHttpAgent(withLookup);
}

/**
 * Arms a connect timeout on each new connection of `agent` (from the request's `connectTimeoutMs`);
 * `watch` sees each connection; `sockets` makes room for it and counts it.
 */
function withConnectTimeout(agent: HttpAgent, https: boolean, watch?: (socket: Duplex) => void, sockets?: CheckSockets): void {
  const create = agent.createConnection as CreateConnection;
  const connectedEvent = https ? 'secureConnect' : 'connect';
  (agent as { createConnection: CreateConnection }).createConnection = function (this: HttpAgent, options, callback) {
    sockets?.makeRoom();
    const socket = create.call(this, options, callback) as Socket | null | undefined;
    if (!socket) return socket;
    sockets?.opened(socket);
    const ms = options.connectTimeoutMs;
    if (ms !== undefined && ms > 0 && socket.connecting) {
      const timer = setTimeout(() => {
        socket.destroy(Object.assign(new Error(`connect timeout after ${ms}ms`), { code: CONNECT_TIMEOUT_CODE }));
      }, ms);
      const clear = (): void => clearTimeout(timer);
      socket.once(connectedEvent, clear);
      socket.once('close', clear);
    }
    watch?.(socket);
    return socket;
  };
}

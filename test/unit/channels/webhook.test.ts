/**
 * The generic webhook channel and the HTTP transport under it (http-post.ts)
 * against a real HTTP server on loopback: the payload, the headers (bearer
 * token, idempotency key), how answers are classified (2xx, 429 +
 * Retry-After, 5xx, 4xx, no answer), kept-alive connections, cancelling,
 * the flags, and no token in any error.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { createWebhookChannel, webhookChannel } from '../../../mailer/delivery/channels/webhook.ts';
import { slackChannel } from '../../../mailer/delivery/channels/slack.ts';
import { discordChannel } from '../../../mailer/delivery/channels/discord.ts';
import type { Channel } from '../../../mailer/delivery/channels/channel.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { channelOf, channelsOf, parseChannelOptions, secretsOf } from '../../support/channel-options.ts';
import { Receiver, status } from '../../support/http-receiver.ts';

/** The options of a send nobody cancels. */
const SEND = { signal: new AbortController().signal };

const rx = new Receiver();
const hits = rx.hits;
let base = '';
before(async () => {
  await rx.listen();
  base = rx.base;
});
after(() => rx.close());
beforeEach(() => rx.reset());

function item(overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert {
  return {
    alert: {
      id: 'wh-1',
      to: 'admin@work',
      message: 'The service is down!',
      status: 'down',
      target: 'http://insideweb:80/',
      reason: 'connection refused',
      time: '2024-05-01T10:00:00.000Z',
      ...overrides,
    },
    line: 'To: admin@work Message: The service is down!',
    via: 'json',
    receivedAt: Date.parse('2024-05-01T10:00:01.000Z'),
  };
}

async function withChannel<T>(channel: Channel, fn: (c: Channel) => Promise<T>): Promise<T> {
  try {
    return await fn(channel);
  } finally {
    await channel.close?.();
  }
}

test('generic webhook: the alert as JSON, with the bearer token and the idempotency key', async () => {
  const channel = createWebhookChannel({ url: new URL(`${base}/hook?x=1`), token: 'tok-123', timeoutMs: 5000 });
  await withChannel(channel, async (c) => {
    assert.equal(c.name, 'webhook');
    const result = await c.send(item({ status: 'up', downForMs: 93_000, reason: undefined, message: 'The service is back up.' }), SEND);
    assert.deepEqual(result, { ok: true, detail: 'HTTP 200' });
  });
  assert.equal(hits.length, 1);
  const hit = hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, '/hook?x=1');
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.equal(hit.headers.authorization, 'Bearer tok-123');
  assert.equal(hit.headers['idempotency-key'], 'wh-1');
  assert.deepEqual(JSON.parse(hit.body), {
    id: 'wh-1',
    status: 'up',
    to: 'admin@work',
    message: 'The service is back up.',
    target: 'http://insideweb:80/',
    time: '2024-05-01T10:00:00.000Z',
    downForMs: 93_000,
    receivedAt: '2024-05-01T10:00:01.000Z',
  });
  assert.deepEqual(Object.keys(JSON.parse(hit.body) as object), ['id', 'status', 'to', 'message', 'target', 'time', 'downForMs', 'receivedAt']);
});

test('generic webhook: an alert without a time gets the time the mailer took it; no token, no Authorization', async () => {
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`) }), async (c) => {
    assert.equal((await c.send(item({ time: undefined }), SEND)).ok, true);
  });
  const body = JSON.parse(hits[0]!.body) as Record<string, unknown>;
  assert.equal(body.time, '2024-05-01T10:00:01.000Z');
  assert.equal(body.reason, 'connection refused');
  assert.equal(hits[0]!.headers.authorization, undefined);
});

test('429 with Retry-After in seconds or as an HTTP date is transient, with the delay', async () => {
  rx.answers = [status(429, 'slow down', { 'retry-after': '7' }), status(429, '', { 'retry-after': new Date(Date.now() + 60_000).toUTCString() })];
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`) }), async (c) => {
    const seconds = await c.send(item(), SEND);
    assert.equal(seconds.ok, false);
    assert.equal(!seconds.ok && seconds.retry, true);
    assert.equal(!seconds.ok ? seconds.retryAfterMs : -1, 7000);
    assert.match(!seconds.ok ? seconds.error : '', /HTTP 429: slow down/);
    const date = await c.send(item(), SEND);
    const ms = !date.ok ? (date.retryAfterMs ?? -1) : -1;
    // An HTTP date has whole seconds: about 60 s from now.
    assert.ok(ms > 50_000 && ms <= 60_000, `retryAfterMs ${ms}`);
  });
});

test('503 is transient, the idempotency key is the same on every attempt, then 200 delivers', async () => {
  rx.answers = [status(503, 'maintenance'), status(502), status(500, '', { 'retry-after': '2' })];
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`) }), async (c) => {
    for (const code of [503, 502, 500]) {
      const r = await c.send(item(), SEND);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.retry, true, `HTTP ${code} is transient`);
      assert.match(!r.ok ? r.error : '', new RegExp(`HTTP ${code}`));
    }
    assert.equal((await c.send(item(), SEND)).ok, true);
  });
  assert.deepEqual(hits.map((h) => h.headers['idempotency-key']), ['wh-1', 'wh-1', 'wh-1', 'wh-1']);
});

test('400 is permanent, with the status and a short one-line excerpt of the answer', async () => {
  rx.answers = [status(400, `invalid_payload\r\nX-Forged: yes\n${'y'.repeat(5000)}`), status(410, 'channel_is_archived'), status(301, '', { location: 'http://elsewhere/' })];
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`) }), async (c) => {
    const r = await c.send(item(), SEND);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retry, false);
    const error = !r.ok ? r.error : '';
    assert.match(error, new RegExp(`^${base.replace(/[.:/]/g, '\\$&')} answered HTTP 400: invalid_payload X-Forged: yes y+…$`));
    assert.doesNotMatch(error, /[\r\n]/);
    assert.ok(error.length < 300, `error is ${error.length} characters`);
    const gone = await c.send(item(), SEND);
    assert.deepEqual([gone.ok, !gone.ok && gone.retry, !gone.ok && gone.error.endsWith('HTTP 410: channel_is_archived')], [false, false, true]);
    const moved = await c.send(item(), SEND);
    assert.deepEqual([moved.ok, !moved.ok && moved.retry], [false, false]);
  });
});

test('answers are read to the end, so connections are reused for 2xx and 4xx answers alike', async () => {
  const bodies = [status(200, 'z'.repeat(100_000)), status(400, 'bad'.repeat(1000)), status(503, 'busy'), status(201, 'created')];
  rx.answers = [...bodies, ...bodies, ...bodies];
  const before = rx.sockets;
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`) }), async (c) => {
    for (let i = 0; i < 12; i++) await c.send(item({ id: `keep-${i}` }), SEND);
  });
  assert.equal(hits.length, 12);
  // undici may open a second connection while it books the first one back in; an
  // answer left unread would cost a new connection for each of the 12 requests.
  const used = new Set(hits.map((h) => h.socket)).size;
  assert.ok(used <= 2, `12 sequential requests used ${used} connections`);
  assert.equal(rx.sockets - before, used);
});

test('no answer within --webhook-timeout, and a refused connection, are transient', async () => {
  rx.answers = [() => {}]; // never answers
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`), timeoutMs: 300 }), async (c) => {
    const r = await c.send(item(), SEND);
    assert.deepEqual([r.ok, !r.ok && r.retry], [false, true]);
    assert.match(!r.ok ? r.error : '', /timeout after 300ms/);
  });
  rx.server.closeAllConnections();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await withChannel(createWebhookChannel({ url: new URL(`http://127.0.0.1:${port}/hook`), timeoutMs: 2000 }), async (c) => {
    const r = await c.send(item(), SEND);
    assert.deepEqual([r.ok, !r.ok && r.retry], [false, true]);
    assert.equal(!r.ok ? r.error : '', `http://127.0.0.1:${port}: connection refused`);
  });
});

test('close() at shutdown does not wait for a receiver that never answers', { timeout: 5000 }, async () => {
  rx.answers = [() => {}]; // never answers
  const channel = createWebhookChannel({ url: new URL(`${base}/hook`), timeoutMs: 60_000 });
  const pending = channel.send(item(), SEND);
  await new Promise<void>((resolve) => {
    const check = (): void => (hits.length > 0 ? resolve() : void setTimeout(check, 10));
    check();
  });
  await channel.close?.();
  const r = await pending;
  assert.deepEqual([r.ok, !r.ok && r.retry], [false, true], 'the alert stays owed');
  rx.server.closeAllConnections();
});

test('the token in a webhook URL never reaches an error: the webhook is named by scheme and host', async () => {
  const secretPath = '/services/T0AAA/B0BBB/xoxsecretTOKEN';
  // The receiver echoes what it was asked for, as some 404 pages do.
  rx.answers = [(req, res) => res.writeHead(404).end(`no such hook: ${req.url} (http://127.0.0.1${req.url})`), status(503, `busy ${secretPath}`)];
  await withChannel(channelOf(slackChannel, { url: new URL(`${base}${secretPath}`) }), async (c) => {
    for (const retry of [false, true]) {
      const r = await c.send(item(), SEND);
      assert.equal(!r.ok && r.retry, retry);
      const error = !r.ok ? r.error : '';
      assert.ok(error.startsWith(`${base} answered HTTP`), error);
      assert.doesNotMatch(error, /xoxsecretTOKEN/);
    }
  });
  // Nothing listens on port 9: the network error names the host only.
  await withChannel(channelOf(slackChannel, { url: new URL(`http://127.0.0.1:9${secretPath}`) }, { timeoutMs: 2000 }), async (c) => {
    const r = await c.send(item(), SEND);
    assert.doesNotMatch(!r.ok ? r.error : '', /xoxsecretTOKEN|services/);
  });
});

const KINDS = [webhookChannel, slackChannel, discordChannel];

function parse(argv: string[], env: Record<string, string> = {}): Record<string, unknown> {
  return parseChannelOptions(KINDS, argv, env);
}

/** Every channel the webhook, Slack and Discord kinds make of these options, in the registry's order. */
async function createAll(opts: Record<string, unknown>): Promise<Channel[]> {
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  return channelsOf(KINDS, opts, { log });
}

const secretsOfAll = (opts: Record<string, unknown>): string[] => secretsOf(KINDS, opts);

test('flags: each repeatable, env vars take lists, channel names unique; URLs checked at start without echoing them', async () => {
  const opts = parse(['--webhook', `${base}/a`, '--webhook', `${base}/b`, '--slack-webhook', 'https://hooks.slack.example/services/T/B/slacktok']);
  const channels = await createAll(opts);
  try {
    assert.deepEqual(channels.map((c) => c.name), ['webhook', 'webhook-2', 'slack']);
    assert.equal((await channels[1]!.send(item(), SEND)).ok, true);
    assert.equal(hits.at(-1)?.path, '/b');
  } finally {
    await Promise.all(channels.map((c) => c.close?.()));
  }
  const secrets = secretsOfAll(opts);
  assert.ok(secrets.includes('https://hooks.slack.example/services/T/B/slacktok'));
  assert.ok(secrets.includes('/services/T/B/slacktok'));

  const fromEnv = parse([], {
    WEBHOOK_URL: `${base}/a, ${base}/b ${base}/c`,
    DISCORD_WEBHOOK_URL: 'https://discord.example/api/webhooks/1/x,https://discord.example/api/webhooks/2/y',
    WEBHOOK_TOKEN: 'envtoken',
  });
  const envChannels = await createAll(fromEnv);
  assert.deepEqual(envChannels.map((c) => c.name), ['webhook', 'webhook-2', 'webhook-3', 'discord', 'discord-2']);
  await Promise.all(envChannels.map((c) => c.close?.()));
  assert.ok(secretsOfAll(fromEnv).includes('envtoken'));
  assert.deepEqual(await createAll(parse([])), [], 'no flags, no channels');

  for (const [argv, env, re] of [
    [['--slack-webhook', 'ftp://hooks.slack.example/services/T/B/slacktok'], {}, /--slack-webhook \/ SLACK_WEBHOOK_URL: expected a URL starting http:\/\/ or https:\/\//],
    [[], { DISCORD_WEBHOOK_URL: 'discord.example/api/webhooks/1/slacktok' }, /--discord-webhook \/ DISCORD_WEBHOOK_URL: expected an http:\/\/ or https:\/\/ URL/],
    [['--webhook', 'http://user:slacktok@h/x'], {}, /use --webhook-token/],
    [['--webhook', 'http://h/slacktok', '--webhook', 'http://h/slacktok'], {}, /given twice/],
    [['--webhook-token', 'slack tok'], {}, /--webhook-token \/ WEBHOOK_TOKEN: expected a token of visible ASCII/],
  ] as const) {
    assert.throws(() => parse([...argv], { ...env }), (err: Error) => {
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /slacktok|slack tok/, 'the value is not echoed');
      return true;
    });
  }
});

test('an aborted send stops at once: the request is torn down, the send settles transient', { timeout: 5000 }, async () => {
  rx.answers = [() => {}]; // never answers
  let closed = false;
  rx.server.once('request', (req) => req.socket.once('close', () => (closed = true)));
  await withChannel(createWebhookChannel({ url: new URL(`${base}/hook`), timeoutMs: 60_000 }), async (c) => {
    assert.equal(c.concurrency, 4, 'no more sends at once than undici connections');
    const controller = new AbortController();
    const pending = c.send(item(), { signal: controller.signal });
    while (hits.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    assert.deepEqual(await pending, { ok: false, retry: true, error: `${base}: send cancelled` });
    while (!closed) await new Promise((r) => setTimeout(r, 5));
  });
});

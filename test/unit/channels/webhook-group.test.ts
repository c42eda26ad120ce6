/**
 * Grouping says what it does: a webhook's `group:` makes a channel that sends
 * groups (plain: one JSON body with an `alerts` array; templated: the
 * template's {{#alerts}} section), every kind that says it groups makes
 * channels that can, and a `group:` asked of a kind (or a template) that
 * cannot is refused at start with one line. Against a real HTTP server on
 * loopback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { channelEntries } from '../../../mailer/delivery/channel-config.ts';
import { createRoutes, planChannels } from '../../../mailer/delivery/channel-setup.ts';
import { CHANNEL_KINDS } from '../../../mailer/delivery/channels/registry.ts';
import { alertRecord, DEFAULT_FROM } from '../../../mailer/delivery/email-content.ts';
import { idempotencyKey } from '../../../mailer/delivery/channels/message-channel.ts';
import { createWebhookChannel } from '../../../mailer/delivery/channels/webhook.ts';
import { parseWebhookTemplate, renderWebhookGroup, renderWebhookTemplate } from '../../../mailer/delivery/channels/webhook-template.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { ConfigError } from '../../../shared/config.ts';
import { Receiver } from '../../support/http-receiver.ts';
import { sampleAlert } from '../../support/sample-alert.ts';

const SEND = { signal: new AbortController().signal };
const GROUP = { waitMs: 1000, intervalMs: 10_000 };
const sink = { write: () => true } as unknown as NodeJS.WritableStream;
const log = await createLogger({ name: 't', format: 'plain', level: 'error', out: sink, err: sink });

const rx = new Receiver();
const dir = mkdtempSync(join(tmpdir(), 'ch2-webhook-group-'));
before(() => rx.listen());
after(async () => {
  await rx.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => rx.reset());

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const plan = (channels: unknown[]) => planChannels({ kinds: CHANNEL_KINDS, opts: {}, notify: [], entries: channelEntries('ch.yaml', { channels }), group: GROUP });
const four = (): QueuedAlert[] => [1, 2, 3, 4].map((n) => sampleAlert(`a-${n}`, { target: `http://web-${n}:80/`, incident: `inc-${n}` }));

/** A template that says a group: its shared fields, then each alert, commas between them. */
const GROUP_TEMPLATE = [
  'headers: { X-Count: "{{count}}" }',
  "body: '{\"text\":\"{{title}}\",\"status\":\"{{status}}\",\"n\":{{count}},\"alerts\":[{{#alerts}}{\"id\":\"{{id}}\",\"target\":\"{{target}}\",\"incident\":\"{{incident}}\",\"of\":{{count}}}{{^last}},{{/last}}{{/alerts}}]}'",
  '',
].join('\n');

test('a webhook entry with group: plans a route that groups, and its channel has the sendGroup the dispatcher groups with', async () => {
  const plans = plan([{ kind: 'webhook', url: `${rx.base}/g`, group: true }, { kind: 'webhook', url: `${rx.base}/one` }]);
  const routes = createRoutes(plans, { log, from: DEFAULT_FROM, httpTimeoutMs: 5000 });
  try {
    const [, grouped, single] = routes;
    assert.deepEqual(grouped!.group, GROUP);
    assert.equal(typeof grouped!.channel.sendGroup, 'function', 'a grouped webhook can send a group');
    assert.equal(single!.group, undefined, 'a webhook groups only when asked');
    assert.equal(single!.channel.sendGroup, undefined);
  } finally {
    await Promise.all(routes.map((r) => r.channel.close?.()));
  }
});

test('a grouped webhook POSTs four alerts as one body: version, status, receiver, to, title and each alert as an ungrouped webhook gets it', async () => {
  const items = four();
  items[3] = sampleAlert('a-4', { status: 'up', target: 'http://web-4:80/', incident: 'inc-4', reason: undefined, downForMs: 61_000 });
  const c = createWebhookChannel({ url: new URL(`${rx.base}/g`), name: 'ops-hook', grouped: true, token: 'tok-1' });
  try {
    assert.deepEqual(await c.sendGroup!(items, SEND), { ok: true, detail: 'HTTP 200' });
    assert.equal(rx.hits.length, 1);
    const hit = rx.hits[0]!;
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers.authorization, 'Bearer tok-1');
    assert.equal(hit.headers['idempotency-key'], idempotencyKey(items), "a hash of the members' ids: the same on a retry");
    assert.match(String(hit.headers['idempotency-key']), /^group-[0-9a-f]{32}$/);
    assert.deepEqual(JSON.parse(hit.body), {
      version: '1',
      status: 'down',
      receiver: 'ops-hook',
      to: 'admin@work',
      title: '[3 DOWN, 1 UP] 4 targets: http://web-1:80/, http://web-2:80/, http://web-3:80/, http://web-4:80/ — The service is down!',
      alerts: items.map((i) => JSON.parse(JSON.stringify(alertRecord(i)))),
    });

    // One alert on a grouped channel is a group of one: the receiver reads one shape.
    assert.equal((await c.send(items[3]!, SEND)).ok, true);
    const one = JSON.parse(rx.hits[1]!.body) as { status: string; alerts: { id: string }[] };
    assert.equal(one.status, 'up');
    assert.deepEqual(one.alerts.map((a) => a.id), ['a-4']);
    assert.equal(rx.hits[1]!.headers['idempotency-key'], 'a-4');
  } finally {
    await c.close?.();
  }
  const plain = createWebhookChannel({ url: new URL(`${rx.base}/p`) });
  try {
    assert.equal(plain.sendGroup, undefined, 'ungrouped: no sendGroup');
    await plain.send(items[0]!, SEND);
    assert.deepEqual(JSON.parse(rx.hits[2]!.body), JSON.parse(JSON.stringify(alertRecord(items[0]!))), 'ungrouped: the plain record, as before');
  } finally {
    await plain.close?.();
  }
});

test('a grouped templated webhook renders {{#alerts}} once per member: shared fields above, each alert inside, count throughout', async () => {
  const template = parseWebhookTemplate('g.yaml', GROUP_TEMPLATE);
  const items = four();
  const c = createWebhookChannel({ url: new URL(`${rx.base}/t`), grouped: true, template });
  try {
    assert.equal((await c.sendGroup!(items, SEND)).ok, true);
  } finally {
    await c.close?.();
  }
  assert.equal(rx.hits.length, 1);
  assert.equal(rx.hits[0]!.headers['x-count'], '4');
  assert.deepEqual(JSON.parse(rx.hits[0]!.body), {
    text: '[DOWN] 4 targets: http://web-1:80/, http://web-2:80/, http://web-3:80/, http://web-4:80/ — The service is down!',
    status: 'down',
    n: 4,
    alerts: items.map((i) => ({ id: i.alert.id, target: i.alert.target, incident: i.alert.incident, of: 4 })),
  });
  // The same template for one alert: its own fields above, one entry in the list.
  const single = JSON.parse(renderWebhookTemplate(template, items[0]!).body) as { text: string; n: number; alerts: unknown[] };
  assert.equal(single.text, '[DOWN] http://web-1:80/ — The service is down!');
  assert.equal(single.n, 1);
  assert.deepEqual(single.alerts, [{ id: 'a-1', target: 'http://web-1:80/', incident: 'inc-1', of: 1 }]);
  // A group's top level has only what its members share.
  const top = renderWebhookGroup(parseWebhookTemplate('t.yaml', 'body: \'{"id":"{{id}}","to":"{{to}}","first":[{{#alerts}}{{#first}}"{{id}}"{{/first}}{{/alerts}}]}\''), items);
  assert.deepEqual(JSON.parse(top.body), { id: '', to: 'admin@work', first: ['a-1'] });
});

test('a template is refused at load when its alerts section would break JSON for a group, or is misused', () => {
  for (const [body, re] of [
    ['\'{"a":[{{#alerts}}{"id":"{{id}}"}{{/alerts}}]}\'', /body: renders invalid JSON for a group of 3 alerts \(write \{\{\^last\}\},\{\{\/last\}\} between them\)/],
    ['\'{"a":[{{^alerts}}1{{/alerts}}]}\'', /\{\{\^alerts\}\} never renders/],
    ['\'{"a":[{{#alerts}}{{#alerts}}1{{/alerts}}{{/alerts}}]}\'', /\{\{#alerts\}\} inside \{\{#alerts\}\}/],
    ['\'{"a":"{{#last}}x{{/last}}"}\'', /\{\{#last\}\} outside \{\{#alerts\}\}/],
    ['\'{"a":"{{alerts}}"}\'', /alerts is a section only/],
    ['\'{"a":[{{#alerts}}"{{first}}"{{/alerts}}]}\'', /first is a section only/],
  ] as const) {
    assert.throws(() => parseWebhookTemplate('t.yaml', `body: ${body}\n`), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^webhook template t\.yaml: /);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

test('group: on a templated webhook needs an {{#alerts}} section; with one it groups', () => {
  const without = file('single.yaml', 'body: \'{"id":"{{id}}"}\'\n');
  assert.throws(() => plan([{ name: 'hook', kind: 'webhook', url: `${rx.base}/x`, template: without, group: true }]), (err: Error) => {
    assert.equal(err.message, `config file ch.yaml: channel 1 (hook): group: the template ${without} has no {{#alerts}}…{{/alerts}} section in its body, so a group would lose its alerts; add one, or remove group:.`);
    return true;
  });
  assert.equal(plan([{ kind: 'webhook', url: `${rx.base}/x`, template: without }]).at(-1)!.group, undefined, 'without group: the template is fine');
  const withAlerts = file('group.yaml', GROUP_TEMPLATE);
  assert.deepEqual(plan([{ kind: 'webhook', url: `${rx.base}/x`, template: withAlerts, group: { wait: '2s' } }]).at(-1)!.group, { waitMs: 2000, intervalMs: 10_000 });
});

/** A --notify URL for each kind that groups (their own tests check the URL forms). */
const GROUPING_URLS: Record<string, string> = {
  smtp: 'smtp://mail.example:25/?fromAddress=a@x.example&toAddresses=b@y.example',
  webhook: 'generic+http://hooks.example/x',
  slack: 'slack://hook:A1-B1-C1@webhook',
  discord: 'discord://token@123456',
  teams: 'teams+https://example.com/workflows/x',
  telegram: 'telegram://123:abc@telegram?chats=1',
  mattermost: 'mattermost://host.example/token',
  googlechat: 'googlechat://chat.googleapis.com/v1/spaces/S/messages?key=k&token=t',
  ntfy: 'ntfy://host.example/topic',
  gotify: 'gotify://host.example/Aabcdefghijklmn',
  pushover: 'pushover://shoutrrr:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@uuuuuuuuuuuuuuuuuuuuuuuuuuuuuu/',
  matrix: 'matrix://:TOKEN@host.example/?rooms=!r:s',
};

test('every kind that says it groups makes channels that send groups when asked; every other kind refuses group: with one line', async () => {
  const grouping = CHANNEL_KINDS.filter((k) => k.groups).map((k) => k.kind);
  assert.deepEqual([...grouping].sort(), Object.keys(GROUPING_URLS).sort(), 'a sample URL for each kind that groups');
  const routes = createRoutes(plan(Object.values(GROUPING_URLS).map((notify) => ({ notify, group: true }))), { log, from: DEFAULT_FROM, httpTimeoutMs: 5000 });
  try {
    for (const route of routes.slice(1)) {
      assert.ok(route.group, `${route.channel.name} groups`);
      assert.equal(typeof route.channel.sendGroup, 'function', `${route.channel.name} can send a group`);
    }
  } finally {
    await Promise.all(routes.map((r) => r.channel.close?.()));
  }

  const folder = join(dir, 'files');
  mkdirSync(folder, { recursive: true });
  for (const [entry, kind] of [
    [{ notify: 'pagerduty://0123456789abcdef0123456789abcdef', group: true }, 'pagerduty'],
    [{ notify: 'alertmanager://host.example:9093', group: { wait: '5s' } }, 'alertmanager'],
    [{ kind: 'exec', command: '/bin/true', group: true }, 'exec'],
    [{ kind: 'file', dir: folder, group: { interval: '1m' } }, 'file'],
  ] as const) {
    assert.throws(() => plan([{ name: 'x', ...entry }]), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `config file ch.yaml: channel 1 (x): group: a channel of kind ${kind} sends each alert on its own and cannot group; remove the key (kinds that group: ${grouping.join(', ')}).`);
      return true;
    });
    assert.equal(plan([{ ...entry, group: false }]).at(-1)!.group, undefined, `group: false on ${kind} says what it does`);
  }
});

/**
 * Which channels the mailer plans from flags, --notify URLs and --config
 * entries: names, kinds by scheme, match, grouping, secrets, and one-line
 * errors that name the source and never show a URL. And the parsers under
 * them: NOTIFY_URLS lists, the config file, and the target globs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { channelEntries } from '../../mailer/delivery/channel-config.ts';
import { planChannels, planSecrets } from '../../mailer/delivery/channel-setup.ts';
import { CHANNEL_KINDS } from '../../mailer/delivery/channels/registry.ts';
import { notifyList } from '../../mailer/delivery/notify-arg.ts';
import { compileMatch, globMatch } from '../../shared/alert-match.ts';
import type { Alert } from '../../shared/alert.ts';

const GROUP = { waitMs: 1000, intervalMs: 10_000 };
const SLACK = 'slack://hook:T0SECRET-B0SECRET-X0SECRET@webhook';
const PD = 'pagerduty://0123456789abcdef0123456789abcdef';

function plan(notify: string[], entries: unknown = undefined, opts: Record<string, unknown> = {}) {
  return planChannels({
    kinds: CHANNEL_KINDS,
    opts,
    notify: notify.length ? notifyList(notify.join(' '), undefined) : [],
    entries: entries === undefined ? [] : channelEntries('ch.yaml', entries),
    group: GROUP,
  });
}

const alert = (target: string | undefined, status: Alert['status'] = 'down', to = 'admin@work'): Alert => ({ id: 'a', to, message: 'm', status, ...(target ? { target } : {}) });

test('--notify URLs pick their kind by scheme; names are <kind>, <kind>-2 after the flags; chat kinds group, PagerDuty does not', () => {
  const plans = plan([SLACK, PD, 'slack://hook:A1-B1-C1@webhook', 'generic+https://hooks.example/x']);
  assert.deepEqual(plans.map((p) => [p.name, p.kind.kind, p.group !== undefined]), [
    ['log', 'log', false],
    ['slack', 'slack', true],
    ['pagerduty', 'pagerduty', false],
    ['slack-2', 'slack', true],
    ['webhook', 'webhook', false],
  ]);
  assert.deepEqual(plans[1]!.group, GROUP);
  const secrets = planSecrets(plans);
  assert.ok(secrets.some((s) => s.includes('X0SECRET')), 'the Slack token is a secret');
  assert.ok(secrets.includes('0123456789abcdef0123456789abcdef'), 'the routing key is a secret');
});

test('a --group-wait of 0 turns grouping off for channels that do not say', () => {
  const plans = planChannels({ kinds: CHANNEL_KINDS, opts: {}, notify: notifyList(SLACK, undefined), entries: [], group: { waitMs: 0, intervalMs: 1000 } });
  assert.equal(plans[1]!.group, undefined);
});

test('NOTIFY_URLS: space- or comma-separated, but a comma inside a URL (chats=1,2) stays', () => {
  const urls = notifyList(`${SLACK}, telegram://1:abc@telegram?chats=1,2 ${PD}`, undefined);
  assert.deepEqual(urls.map((u) => u.protocol), ['slack:', 'telegram:', 'pagerduty:']);
  assert.equal(urls[1]!.searchParams.get('chats'), '1,2');
  assert.throws(() => notifyList(`${SLACK} ${SLACK}`, undefined), /given twice/);
  assert.throws(() => notifyList('not a url', undefined), (err: Error) => /--notify \/ NOTIFY_URLS: URL 1 is not a URL/.test(err.message) && !err.message.includes('not a url'));
});

test("an unparsable --notify URL (or config notify:) is told what one of its own scheme looks like, never its text; an unknown scheme gets a telegram:// one", () => {
  const withScheme = CHANNEL_KINDS.filter((k) => (k.schemes ?? []).length > 0);
  assert.ok(withScheme.length >= 14);
  for (const kind of withScheme) {
    assert.ok(kind.urlExample, `${kind.kind} has a urlExample`);
    assert.ok(kind.schemes!.includes(new URL(kind.urlExample!).protocol.replace(/(\+[a-z]+)?:$/, '')), `${kind.kind}'s example is a URL of its own scheme: ${kind.urlExample}`);
    for (const scheme of kind.schemes!) {
      for (const text of [`${scheme}://SECRET@host:9093x/`, `${scheme}+https://SECRET@[host/`]) {
        assert.throws(() => notifyList(text, undefined), (err: Error) => {
          assert.equal(err.message, `--notify / NOTIFY_URLS: URL 1 is not a valid ${scheme}:// URL; one looks like ${kind.urlExample} (the value is not shown: it may hold a token).`);
          return true;
        });
        assert.throws(() => plan([], { channels: [{ name: 'x', notify: text }] }), (err: Error) => err.message.includes(`not a valid ${scheme}:// URL; one looks like ${kind.urlExample}`) && !err.message.includes('SECRET'));
      }
    }
  }
  assert.throws(() => notifyList('alertmanager://host:9093x', undefined), /is not a valid alertmanager:\/\/ URL; one looks like alertmanager:\/\/host:9093 /);
  assert.throws(() => notifyList('alertmanger://host:9093x', undefined), /URL 1 is not a URL such as telegram:\/\/TOKEN@telegram\?chats=123 /);
});

test('bad --notify URLs: one line naming the URL by its place and scheme, never its token', () => {
  for (const [url, re] of [
    ['foo://x', /unknown scheme; known: .*slack/],
    ['slack://hook:only-twoSECRET@webhook', /slack:\/\/ URL: expected/],
    ['pagerduty://shortSECRET', /pagerduty/],
    ['telegram://SECRET@telegram', /telegram/],
  ] as const) {
    assert.throws(() => plan([url]), (err: Error) => {
      assert.match(err.message, /^--notify \/ NOTIFY_URLS \(URL 1, [a-z]+:\/\/\): /);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /SECRET/, 'the token is not echoed');
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

test('--config: notify or kind entries, names, match and group; flags and --notify take every alert', () => {
  const plans = plan([SLACK], {
    channels: [
      { name: 'pager', notify: PD, match: { targets: ['db-*'], status: 'down' } },
      { kind: 'webhook', url: 'https://hooks.example/ops', match: { to: ['*@OPS.example'] }, group: { wait: '2s' } },
      { kind: 'webhook', url: 'https://hooks.example/all', group: false },
    ],
  });
  assert.deepEqual(plans.map((p) => p.name), ['log', 'slack', 'pager', 'webhook', 'webhook-2']);
  const [, slack, pager, ops, all] = plans;
  assert.equal(slack!.match, undefined);
  assert.equal(pager!.match!(alert('db-1')), true);
  assert.equal(pager!.match!(alert('db-1', 'up')), false, 'status down only');
  assert.equal(pager!.match!(alert('web-1')), false);
  assert.equal(pager!.match!(alert(undefined)), false, 'a target glob needs a target');
  assert.equal(ops!.match!(alert('x', 'down', 'me@ops.example')), true, 'recipients match without case');
  assert.equal(ops!.match!(alert('x')), false);
  assert.deepEqual(ops!.group, { waitMs: 2000, intervalMs: 10_000 }, 'a webhook groups when configured; interval from the flags');
  assert.equal(all!.group, undefined);
});

test('config errors: one line naming the file, the channel and the key', () => {
  for (const [doc, re] of [
    [{ chanels: [] }, /^config file ch\.yaml: chanels: unknown key; known: channels\.$/],
    [{ channels: [{ notify: PD, match: { target: ['x'] } }] }, /^config file ch\.yaml: channel 1: match\.target: unknown key; known: status, targets, to\.$/],
    [{ channels: [{ notify: PD, match: { status: ['sideways'] } }] }, /channel 1: match\.status: "sideways" is not down or up/],
    [{ channels: [{ name: 'p', notify: PD, group: { wait: 'soon' } }] }, /^config file ch\.yaml: channel 1 \(p\): group\.wait: /],
    [{ channels: [{ kind: 'webhook', url: 'https://h/x', tokn: 'x' }] }, /channel 1: tokn: unknown key for kind webhook; known: /],
    [{ channels: [{ kind: 'nosuch' }] }, /channel 1: kind: unknown kind "nosuch"/],
    [{ channels: [{ notify: PD }, { name: 'pagerduty', kind: 'webhook', url: 'https://h/x' }] }, /channel 2 \(pagerduty\): the channel name pagerduty is used twice/],
    [{ channels: [{ notify: 'slack://hook:badSECRET@webhook' }] }, /channel 1: notify: slack:\/\/ URL: expected/],
    [{ channels: [{ notify: PD, url: 'x' }] }, /channel 1: url: unknown key beside notify/],
  ] as const) {
    assert.throws(() => plan([], doc), (err: Error) => {
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /SECRET|\n/);
      return true;
    });
  }
});

test('globMatch: * any run (slashes too), ? one character; the same verdict as a regular expression, in linear steps', () => {
  assert.equal(globMatch('db-*', 'db-1'), true);
  assert.equal(globMatch('http://db-*', 'http://db-1:5432/'), true);
  assert.equal(globMatch('db-?', 'db-12'), false);
  assert.equal(globMatch('*', ''), true);
  const reference = (glob: string, text: string): boolean =>
    new RegExp(`^${[...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('')}$`, 's').test(text);
  const chars = fc.constantFrom('a', 'b', '*', '?', '/', '.');
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '*'), maxLength: 12 }), (glob, text) => globMatch(glob, text) === reference(glob, text)),
    { numRuns: 3000 },
  );
  // Hostile alert data: a long target against many stars is answered at once.
  const started = process.hrtime.bigint();
  assert.equal(globMatch('*a*a*a*a*a*a*b', 'a'.repeat(4000)), false);
  assert.ok(Number(process.hrtime.bigint() - started) < 2e9);
  assert.equal(compileMatch({ targets: ['*a*a*a*a*a*b'] })(alert('a'.repeat(4000))), false);
});

test("a webhook template's credential headers are secrets (their fixed text, and what follows the scheme word); other headers are not", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-template-secrets-'));
  try {
    const file = join(dir, 'hook.yaml');
    writeFileSync(file, ['method: POST', 'contentType: application/json', 'headers:', '  Authorization: Bearer tpl-s3cret-bearer', '  X-Api-Key: "k-{{id}}-tpl-key-part"', '  X-Source: ch2-visible', 'body: \'{"m": "{{message}}"}\'', ''].join('\n'));
    const secrets = planSecrets(plan([], { channels: [{ kind: 'webhook', url: 'https://hooks.example/ops', template: file }] }));
    assert.ok(secrets.includes('tpl-s3cret-bearer'), 'the bearer token');
    assert.ok(secrets.includes('Bearer tpl-s3cret-bearer'), 'the whole header value');
    assert.ok(secrets.includes('-tpl-key-part'), "an API key's fixed text around a placeholder");
    assert.ok(!secrets.some((s) => s.includes('ch2-visible')), 'X-Source is no secret');
    assert.ok(!secrets.includes('Bearer'), 'the scheme word alone is no secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The Teams channel against a loopback receiver: the exact Workflows message
 * (an Adaptive Card 1.4 of TextBlocks) POSTed to the workflow URL, hostile
 * alert text coming out inert (no link, emphasis, code or <at>), a big group
 * kept under Teams's 28 KB, the teams:// and teams+https:// URL forms with
 * `api`, the config entry, the secrets, and the verdicts on the answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { teamsChannel, teamsEscape, teamsPayload, type TeamsSettings } from '../../../mailer/delivery/channels/teams.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { fakeReceiver, refuses, sendOnce, testContext } from '../../support/channel-fake.ts';

/** Arbitrary text, and text made of the characters that matter here. */
const hostile = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('\\', '*', '_', '~', '`', '[', ']', '(', ')', '<', '>', 'a', ' ') }));
const ctx = testContext('teams');
const rx = fakeReceiver(status(202));

const SIG = 'Zx9sigSECRETvalue_abc-123';
const PATH = `/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SIG}`;
const WORKFLOW = `https://prod-00.westus.logic.azure.com:443${PATH}`;
const api = () => `api=${encodeURIComponent(rx.base)}`;
const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('tm-1', overrides);
const fromUrl = (url: string) => teamsChannel.fromUrl!(new URL(url)) as TeamsSettings;
const local = (): TeamsSettings => ({ url: new URL(`${rx.base}${PATH}`) });

const sendWith = (settings: TeamsSettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(teamsChannel, settings, alert, ctx);

type Card = { attachments: [{ content: { body: { text: string }[] } }] };
const texts = (body: unknown): string[] => (body as Card).attachments[0].content.body.map((b) => b.text);

const refuse = (make: () => unknown, pattern: RegExp) => refuses(make, pattern, /Zx9sig|abc123|SECRET/);

test('Teams gets exactly the Workflows message: an Adaptive Card 1.4, the subject bold, a TextBlock per detail; 202 is sent', async () => {
  const result = await sendWith(local(), item());
  assert.deepEqual(result, { ok: true, detail: 'HTTP 202' });
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, PATH);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: '\\[DOWN\\] http://insideweb:80/ — The service is down!', weight: 'Bolder', wrap: true },
            { type: 'TextBlock', text: 'Reason: connection refused', wrap: true },
            { type: 'TextBlock', text: 'Time: 2024-05-01T10:00:00.000Z', wrap: true },
            { type: 'TextBlock', text: 'Alert id: tm-1', wrap: true },
          ],
        },
      },
    ],
  });
});

test('hostile alert text comes out inert in Teams: masked links, emphasis, code, <at> mentions backslashed; no "](" left', () => {
  const body = teamsPayload(messageLines([item({ message: '[Reset password](https://evil) **b** _i_ ~~s~~ `c` <at>Bob</at> \\', reason: 'x\n- list\n[y](z)' })]));
  assert.deepEqual(texts(body), [
    '\\[DOWN\\] http://insideweb:80/ — \\[Reset password\\]\\(https://evil\\) \\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~ \\`c\\` \\<at\\>Bob\\</at\\> \\\\',
    'Reason: x - list \\[y\\]\\(z\\)',
    'Time: 2024-05-01T10:00:00.000Z',
    'Alert id: tm-1',
  ]);
  for (const text of texts(body)) assert.doesNotMatch(text, /\]\(/);
});

test('teamsEscape: every markup character backslashed, reversibly; "](" never occurs (property)', () => {
  fc.assert(
    fc.property(hostile, (text) => {
      const out = teamsEscape(text);
      assert.equal(out.replace(/\\([\\*_~`[\]()<>])/g, '$1'), text);
      for (const m of out.matchAll(/(\\*)([*_~`[\]()<>])/g)) assert.equal(m[1]!.length % 2, 1, out);
      assert.doesNotMatch(out, /\]\(/);
    }),
  );
});

test('a group is one card: every target in the title, a TextBlock per alert; a huge group stays under 28 KB', async () => {
  const a = sampleAlert('g-1', { target: 'web-1' });
  const b = sampleAlert('g-2', { target: 'web-2', status: 'up', message: 'The service is back up.', downForMs: 5_000 });
  assert.equal((await sendWith(local(), [a, b])).ok, true);
  assert.equal(rx.hits.length, 1);
  const blocks = texts(JSON.parse(rx.hits[0]!.body));
  assert.match(blocks[0]!, /^\\\[1 DOWN, 1 UP\\\] 2 targets: web-1, web-2/);
  assert.equal(blocks.length, 3);

  const many = Array.from({ length: 400 }, (_, i) => sampleAlert(`big-${i}`, { target: `http://host-${i}.example/${'p'.repeat(60)}`, reason: 'r'.repeat(200) }));
  const big = teamsPayload(messageLines(many));
  assert.ok(Buffer.byteLength(JSON.stringify(big)) < 28_000, 'under 28 KB');
  const last = texts(big).at(-1)!;
  const shown = texts(big).length - 2;
  assert.equal(last, `… and ${400 - shown} more alerts`);
});

test('teams+https://<workflow URL> with api: the path and query kept as written, api in place of scheme://host:port', async () => {
  const settings = fromUrl(`teams+https://prod-00.westus.logic.azure.com:443${PATH}&${api()}`);
  assert.equal(settings.url.href, `${rx.base}${PATH}`);
  assert.equal((await sendWith(settings, item())).ok, true);
  assert.equal(rx.hits[0]!.path, PATH);
  // Without api: the workflow's own https URL (the default port dropped).
  assert.equal(fromUrl(`teams+https://prod-00.westus.logic.azure.com:443${PATH}`).url.href, WORKFLOW.replace(':443', ''));
  // Power Platform's newer workflow hosts are workflow URLs too.
  const pp = 'teams+https://default0123.45.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/w1/triggers/manual/paths/invoke?api-version=1&sig=s1';
  assert.equal(fromUrl(pp).url.host, 'default0123.45.environment.api.powerplatform.com');
});

test("shoutrrr's teams://?host=<workflow URL, %-encoded>, with api", () => {
  assert.equal(fromUrl(`teams://?host=${encodeURIComponent(WORKFLOW)}`).url.href, WORKFLOW.replace(':443', ''));
  assert.equal(fromUrl(`teams://?host=${encodeURIComponent(WORKFLOW)}&${api()}`).url.href, `${rx.base}${PATH}`);
});

test('bad teams URLs are refused naming the part, never echoing the URL: the retired connector form, no host, title', () => {
  refuse(() => fromUrl('teams://11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/abc123/44444444-4444-4444-8444-cccccccccccc/Zx9sigSECRET?host=contoso.webhook.office.com'), /connector webhooks .* retired/);
  refuse(() => fromUrl('teams+https://contoso.webhook.office.com/webhookb2/abc123@x/IncomingWebhook/Zx9sigSECRET'), /retired/);
  refuse(() => fromUrl(`teams://?host=${encodeURIComponent('https://contoso.webhook.office.com/webhookb2/abc123')}`), /retired/);
  refuse(() => fromUrl('teams://'), /host=<workflow URL/);
  refuse(() => fromUrl('teams://?host=not-a-url-Zx9sigSECRET'), /host parameter is not a URL/);
  refuse(() => fromUrl(`teams://?host=${encodeURIComponent('http://prod-00.westus.logic.azure.com/workflows/abc123?sig=Zx9sigSECRET')}`), /https:\/\/ workflow URL/);
  refuse(() => fromUrl(`teams://?host=${encodeURIComponent(WORKFLOW)}&title=Alert`), /unknown parameter "title"/);
  refuse(() => fromUrl(`teams+https://prod-00.westus.logic.azure.com${PATH}&api=ftp://x`), /api parameter must be an http/);
});

test('config entry { url }; unknown keys and a non-URL refused; the URL, its path and query and its sig are secrets', () => {
  const s = teamsChannel.fromConfig!({ url: WORKFLOW }) as TeamsSettings;
  assert.equal(s.url.href, WORKFLOW.replace(':443', ''));
  refuse(() => teamsChannel.fromConfig!({ url: WORKFLOW, title: 'x' }), /^title: unknown key for kind teams; known: name, kind, match, group, url\.$/);
  refuse(() => teamsChannel.fromConfig!({ url: 42 }), /url: expected/);
  refuse(() => teamsChannel.fromConfig!({ url: 'https://contoso.webhook.office.com/webhookb2/abc123' }), /url: .*retired/);
  assert.deepEqual(teamsChannel.secrets!(s), [s.url.href, PATH, SIG]);
  assert.equal(teamsChannel.kind, 'teams');
  assert.equal(teamsChannel.groups, true);
  assert.deepEqual(teamsChannel.schemes, ['teams']);
  assert.deepEqual(teamsChannel.create(s, ctx).rateLimit, { count: 4, perMs: 1000 });
});

test('verdicts: 400/401/403/404 permanent, 429 transient after Retry-After, 5xx transient; no error names the path or sig', async () => {
  const cases: [number, Record<string, string>, boolean, number | undefined][] = [
    [400, {}, false, undefined],
    [401, {}, false, undefined],
    [403, {}, false, undefined],
    [404, {}, false, undefined],
    [429, { 'retry-after': '7' }, true, 7000],
    [502, {}, true, undefined],
  ];
  for (const [code, headers, retry, after] of cases) {
    rx.answers.push(status(code, `{"error":{"code":"X","message":"sig ${SIG} at ${PATH} refused"}}`, headers));
    const result = await sendWith(local(), item());
    assert.equal(result.ok, false, String(code));
    if (result.ok) continue;
    assert.equal(result.retry, retry, String(code));
    assert.equal(result.retryAfterMs, after, String(code));
    assert.match(result.error, new RegExp(`^http://127\\.0\\.0\\.1:\\d+ answered HTTP ${code}`));
    assert.doesNotMatch(result.error, /Zx9sig|abc123|workflows/, result.error);
  }
});

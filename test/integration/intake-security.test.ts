/**
 * Nobody gets in, on the mailer image:
 * - relay attempts by both protocols against `--to admin@work,*@work` with SMTP
 *   into ch2/smtp-sink: every attempt is refused with a logged reason, and
 *   nothing outside the allowlist reaches the sink's RCPT TO;
 * - --token shuts the raw protocol unless --raw is given (then a warning);
 *   without a token GET /alerts answers loopback peers only; MAILER_TOKEN= is unset;
 * - the raw size cap follows --max-bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import { Cleanup, http, httpOnLoopback, type Started, type StartedNetwork, startMailer, startSmtpSink, tcpExchange, waitUntil, withSuiteNetwork } from './helpers.ts';

const TOKEN = 'tok-0123456789abcdef';

/** The level of the JSON log line whose msg matches `re` ("warn"). */
function levelOf(text: string, re: RegExp): string | number | undefined {
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string | number; msg?: string };
      if (typeof entry.msg === 'string' && re.test(entry.msg)) return entry.level;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** Recipients that must not get mail: lists, groups, display names, comments, routing tricks, look-alike domains. */
const RELAYS = [
  'victim@evil.example,a@work',
  'a@work,victim@evil.example',
  'a@work;victim@evil.example',
  '"a@work" <victim@evil.example>',
  'a@work <victim@evil.example>',
  '<victim@evil.example>',
  'g: victim@evil.example;',
  'victim@evil.example (a@work)',
  'victim@evil.example a@work',
  '"victim@evil.example"@work',
  'victim%evil.example@work',
  'evil.example!victim@work',
  'victim@evil.example@work',
  'victim@evil.work',
  'victim@work.evil',
  'victim@[192.0.2.1]',
  'victim@evil.example',
  'admin',
];

describe('intake security on the mailer image', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  withSuiteNetwork(cleanup, (n) => (net = n));

  const addressOf = (m: Started): { host: string; port: number } => ({ host: m.container.getHost(), port: m.container.getMappedPort(33333) });

  test('relay attempts by raw text and JSON with --to admin@work,*@work: each refused with a reason, none reaches RCPT TO', { timeout: 90_000 }, async () => {
    const sink = await startSmtpSink(net, cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--to', 'admin@work,*@work', '--smtp', 'smtp://smtp:2525'] });
    const { host, port } = addressOf(mailer);
    const base = `http://${host}:${port}`;
    for (const [i, to] of RELAYS.entries()) {
      const from = mailer.logs.mark();
      const json = await http('POST', `${base}/alerts`, { id: `relay-json-${i}`, to, message: `relay ${i}` });
      assert.ok(json.status === 400 || json.status === 403, `JSON to ${JSON.stringify(to)}: ${json.status} ${json.text}`);
      await mailer.logs.waitFor(/Refused json alert from [^\n]+: [^\n]*(recipient|"to")[^\n]*/, 5_000, from);
      if (/[\r\n]/.test(to)) continue;
      const rawFrom = mailer.logs.mark();
      await tcpExchange(host, port, `To: ${to}  Message: relay raw ${i}`);
      await mailer.logs.waitFor(/Refused raw alert from [^\n]+: [^\n]*recipient [^\n]*/, 5_000, rawFrom);
    }
    // The issue's own example, with the two spaces of the book.
    const from = mailer.logs.mark();
    await tcpExchange(host, port, 'To: victim@evil.example,a@work  Message: the issue 8 relay');
    await mailer.logs.waitFor(/Refused raw alert from [^\n]+: recipient victim@evil\.example,a@work refused: the recipient is a list of 2 addresses/, 5_000, from);
    // Then real alerts by both protocols; once they are in the sink, so would any relay that got through be.
    assert.equal((await http('POST', `${base}/alerts`, { id: 'legit-json', to: 'ops@WORK', message: 'legit json' })).status, 202);
    await tcpExchange(host, port, 'To: admin@work  Message: legit raw');
    const messages = await waitUntil(
      'both real alerts in the sink',
      async () => {
        const list = (await http('GET', `${sink.api}/messages`)).json as StoredMessage[];
        return list.some((m) => m.raw.includes('legit json')) && list.some((m) => m.raw.includes('legit raw')) ? list : undefined;
      },
      15_000,
    );
    const rcpt = messages.flatMap((m) => m.to);
    assert.deepEqual(rcpt.map((a) => a.toLowerCase()).sort(), ['admin@work', 'ops@work'], `RCPT TO seen: ${JSON.stringify(rcpt)}`);
    assert.ok(!messages.some((m) => /evil/i.test(m.raw)), 'no message mentions the relay targets');
  });

  test('--token shuts the raw protocol; --raw opens it again with a warning', { timeout: 60_000 }, async () => {
    const guarded = await startMailer(net, cleanup, { aliases: ['guarded'], env: { MAILER_TOKEN: TOKEN } });
    const a = addressOf(guarded);
    let from = guarded.logs.mark();
    await tcpExchange(a.host, a.port, 'To: admin@work  Message: raw with a token');
    await guarded.logs.waitFor(/Refused raw alert from [^\n]+: raw text protocol is off \(--token is set and --raw is not\)/, 5_000, from);
    assert.doesNotMatch(guarded.logs.text, /Sending email: To: admin@work {2}Message: raw with a token/);
    assert.doesNotMatch(guarded.logs.text, /No --token/);

    const opened = await startMailer(net, cleanup, { aliases: ['opened'], args: ['--raw', '--log-format', 'json'], env: { MAILER_TOKEN: TOKEN } });
    const rawWarning = /^--raw with --token: the book's raw text protocol carries no token/;
    const { value: rawLevel } = await opened.logs.until('the --raw warning', () => levelOf(opened.logs.text, rawWarning), 5_000);
    assert.equal(rawLevel, 'warn', 'a warn-level line at start');
    const b = addressOf(opened);
    from = opened.logs.mark();
    await tcpExchange(b.host, b.port, 'To: admin@work  Message: raw asked for');
    await opened.logs.waitFor(/Sending email: To: admin@work {2}Message: raw asked for/, 5_000, from);
    assert.equal((await http('POST', `http://${b.host}:${b.port}/alerts`, { message: 'no token' })).status, 401);
  });

  test('without a token GET /alerts answers loopback only, the warning says so at warn level, and MAILER_TOKEN= means unset', { timeout: 60_000 }, async () => {
    const open = await startMailer(net, cleanup, { aliases: ['open'], args: ['--log-format', 'json'], env: { MAILER_TOKEN: '' } });
    const warning = /^No --token \(MAILER_TOKEN\): anyone who can reach port 33333 can post alerts \(HTTP and raw text\) and reports; GET \/alerts and the hub's changes \(silences\) answer loopback peers only\.$/;
    const { value: level } = await open.logs.until('the no-token warning', () => levelOf(open.logs.text, warning), 5_000);
    assert.equal(level, 'warn', 'a warn-level line at start');
    const { host, port } = addressOf(open);
    const outside = await http('GET', `http://${host}:${port}/alerts?state=pending`);
    assert.equal(outside.status, 403, outside.text);
    assert.match(outside.text, /loopback only/);
    const inside = await httpOnLoopback(open.container, '/alerts?state=pending');
    assert.equal(inside.status, 200, inside.text);
    assert.equal((await http('POST', `http://${host}:${port}/alerts`, { message: 'open post' })).status, 202);
  });

  test('the raw size cap follows --max-bytes', { timeout: 60_000 }, async () => {
    const big = await startMailer(net, cleanup, { aliases: ['big'], args: ['--max-bytes', '1048576'] });
    const { host, port } = addressOf(big);
    const from = big.logs.mark();
    await tcpExchange(host, port, `To: admin@work  Message: big ${'x'.repeat(70_000)} end`);
    await big.logs.waitFor(/Sending email: To: admin@work {2}Message: big x+ end/, 10_000, from);
  });
});

/**
 * Channel modules (mailer/delivery/channel-modules.ts, channels/module-channel.ts)
 * with real module files written to a temporary folder: every loading error
 * one line naming the file and never a setting's value; settings from env
 * vars and --channel-setting (which wins) and config entries; secrets; a
 * create that throws, rejects or hangs caught at start; a send that throws,
 * rejects, returns garbage or never settles is transient within the timeout,
 * its signal aborted, and does not delay another module's channel. What a
 * module is handed holds none of the mailer's own settings (SMTP_URL,
 * MAILER_TOKEN): only its CH2_<KIND>_* ones.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { channelModuleOptions, loadChannelModules, moduleChannelsReady, type ModuleSettings } from '../../mailer/delivery/channel-modules.ts';
import type { Channel, ChannelKind } from '../../mailer/delivery/channels/channel.ts';
import { sampleAlert } from '../support/sample-alert.ts';

const SEND = { signal: new AbortController().signal };
let root = '';
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ch2-modules-test-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** A module file with this source; a fresh name each time (node caches imports by URL). */
async function mod(source: string, ext = 'mjs'): Promise<string> {
  const file = join(root, `m${++n}.${ext}`);
  await writeFile(file, source);
  return file;
}

const simple = (kind: string, send = 'return { ok: true };', extra = ''): string =>
  `export default { kind: ${JSON.stringify(kind)}, ${extra} create(settings, ctx) { return { async send(alert, options) { ${send} } }; } };\n`;

/** A logger whose lines are kept. */
async function captured(): Promise<{ log: Logger; lines: () => string }> {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const log = await createLogger({ name: 't', format: 'plain', level: 'debug', out: sink, err: sink });
  return { log, lines: () => text };
}

async function only(files: string[], settings: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 1000): Promise<{ kind: ChannelKind<ModuleSettings>; settings: ModuleSettings }> {
  const [loaded] = await loadChannelModules(files, settings, env, timeoutMs);
  return loaded!;
}

async function channel(files: string[], timeoutMs = 300, log?: Logger): Promise<Channel> {
  const { kind, settings } = await only(files, [], {}, timeoutMs);
  const ch = kind.create(settings, { name: kind.kind, log: log ?? (await captured()).log, from: '', httpTimeoutMs: 1000 });
  await moduleChannelsReady([ch]);
  return ch;
}

/** Asserts a ConfigError of one line, matching `re`, naming `file`, not showing `hidden`. */
async function refused(promise: Promise<unknown>, re: RegExp, file?: string, hidden?: string): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof ConfigError, `${err.name}: ${err.message}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    if (file) assert.ok(err.message.includes(file), `names ${file}: ${err.message}`);
    if (hidden) assert.ok(!err.message.includes(hidden), `shows ${hidden}: ${err.message}`);
    return true;
  });
}

test('loading errors: each one line naming the file', async () => {
  const txt = await mod('export default {}', 'ts');
  await refused(loadChannelModules([txt], [], {}, 1000), /: expected an ES module file ending \.mjs or \.js\.$/, txt);
  await refused(loadChannelModules([join(root, 'none.mjs')], [], {}, 1000), /does not exist/, join(root, 'none.mjs'));
  const dir = join(root, 'folder.mjs');
  await mkdir(dir);
  await refused(loadChannelModules([dir], [], {}, 1000), /is not a file/, dir);
  const cases: [string, RegExp][] = [
    ["throw new Error('boom\\nsecond line');", /: cannot load it: boom second line$/],
    ['export default {', /: cannot load it: /],
    ['await new Promise(() => {});', /: did not finish loading within 200ms\.$/],
    ['export const kind = "x";', /its default export must be a plain object .* \(it is a undefined\)/],
    ['export default function () {}', /its default export must be a plain object .* \(it is a function\)/],
    ['export default new (class X { kind = "x" })();', /it is an object that is not a plain/],
    ['export default [];', /it is an array/],
    [simple('Pager'), /kind must be a name of a-z, 0-9 and -, starting with a letter \(it is "Pager"\)/],
    [simple('a_b'), /kind must be a name/],
    [simple('smtp'), /kind 'smtp' is a built-in channel kind/],
    [simple('exec'), /kind 'exec' is a built-in channel kind/],
    ['export default { kind: "x", create: 5 };', /create must be a function \(it is a number\)/],
    [simple('x', undefined, 'secrets: "token",'), /secrets must be a list of setting names/],
    [simple('x', undefined, 'secrets: ["Token"],'), /secrets must be a list of setting names/],
    [simple('x', undefined, 'secret: ["token"],'), /unknown key 'secret' in its default export \(known: kind, create, secrets, concurrency\)/],
    [simple('x', undefined, 'concurrency: 0,'), /concurrency must be a whole number from 1 to 64/],
  ];
  for (const [source, re] of cases) {
    const file = await mod(source);
    await refused(loadChannelModules([file], [], {}, 200), re, file);
  }
});

test('two modules of one kind, or the same file twice, are refused naming both', async () => {
  const a = await mod(simple('twin'));
  const b = await mod(simple('twin'));
  await refused(loadChannelModules([a, b], [], {}, 1000), new RegExp(`${b}: kind 'twin' is also the kind of ${a}`));
  await refused(loadChannelModules([a, a], [], {}, 1000), /another entry of the same file/, a);
});

test('settings: env CH2_<KIND>_<KEY>, --channel-setting wins; kinds with "-"; the longest prefix decides; empty env is unset', async () => {
  const pager = await mod(simple('pager'));
  const myPager = await mod(simple('my-pager'));
  const my = await mod(simple('my'));
  const env = {
    CH2_PAGER_URL: 'https://env.example/',
    CH2_PAGER_TOKEN: 'env-token',
    CH2_PAGER_EMPTY: '',
    CH2_MY_PAGER_ROUTING_KEY: 'rk',
    CH2_MY_REGION: 'eu',
    CH2_OTHER_URL: 'ignored',
    SMTP_URL: 'ignored',
  };
  const loaded = await loadChannelModules([pager, myPager, my], ['pager.url=https://flag.example/a=b', 'my.Region=us', 'pager.api-base=x'], env, 1000);
  assert.deepEqual(
    loaded.map((l) => [l.kind.kind, l.settings]),
    [
      ['pager', { url: 'https://flag.example/a=b', token: 'env-token', api_base: 'x' }],
      ['my-pager', { routing_key: 'rk' }],
      ['my', { region: 'us' }],
    ],
  );
  assert.ok(Object.isFrozen(loaded[0]!.settings));
});

test("a module is handed only its own settings: never the mailer's SMTP_URL or MAILER_TOKEN, nor another kind's", async () => {
  const SMTP = 'smtp://mailer:smtp-pass-0123@mail.example:587';
  const TOKEN = 'mailer-token-0123456789abcdef';
  const file = await mod(`
    export default { kind: 'nosy', create(settings, context) {
      const seen = { settings: { ...settings }, context: Object.keys(context), logKeys: Object.keys(context.log) };
      return { send(alert, options) {
        globalThis.nosySeen = JSON.stringify({ ...seen, alert, options: Object.keys(options) });
        return { ok: true };
      } };
    } };`);
  // The mailer's own environment, as main.ts hands it over (process.env).
  const env = { SMTP_URL: SMTP, MAILER_TOKEN: TOKEN, ALERT_TO: 'admin@work', CH2_PAGER_TOKEN: 'pager-secret-0123', CH2_NOSY_URL: 'https://nosy.example/' };
  const { kind, settings } = await only([file], ['nosy.region=eu'], env);
  assert.deepEqual(settings, { url: 'https://nosy.example/', region: 'eu' });
  const ch = kind.create(settings, { name: 'nosy', log: (await captured()).log, from: 'ch2 <alerts@work>', httpTimeoutMs: 1000 });
  await moduleChannelsReady([ch]);
  assert.deepEqual(await ch.send(sampleAlert('n-1'), SEND), { ok: true });
  const seen = (globalThis as unknown as { nosySeen: string }).nosySeen;
  for (const secret of [SMTP, 'smtp-pass-0123', TOKEN, 'pager-secret-0123']) assert.ok(!seen.includes(secret), `the module was handed ${secret}: ${seen}`);
  const parsed = JSON.parse(seen) as Record<string, unknown>;
  assert.deepEqual(parsed.settings, { url: 'https://nosy.example/', region: 'eu' });
  assert.deepEqual(parsed.context, ['name', 'log']);
  assert.deepEqual(parsed.options, ['signal']);
});

test('a --channel-setting for no module\'s kind, or malformed, is refused without its value', async () => {
  const pager = await mod(simple('pager'));
  await refused(loadChannelModules([pager], ['pagr.token=s3cret-value'], {}, 1000), /^--channel-setting pagr\.token: no --channel-module has the kind 'pagr' \(loaded: pager\)\.$/, undefined, 's3cret-value');
  await refused(loadChannelModules([], ['pager.token=s3cret-value'], {}, 1000), /\(none is loaded\)/, undefined, 's3cret-value');
  await refused(loadChannelModules([pager], ['s3cret-value'], {}, 1000), /^--channel-setting \(number 1\): expected <kind>\.<key>=<value>/, undefined, 's3cret-value');
  await refused(loadChannelModules([pager], [], { CH2_PAGER_9X: 's3cret-value' }, 1000), /^env 'CH2_PAGER_9X': the setting name after CH2_PAGER_ must start with a letter/, undefined, 's3cret-value');
});

test('secrets() gives the values of the keys the module lists; fromConfig stringifies and refuses the rest', async () => {
  const file = await mod(simple('vault', undefined, 'secrets: ["token", "password"],'));
  const { kind, settings } = await only([file], ['vault.token=t0ken-value', 'vault.url=https://v/'], { CH2_VAULT_PASSWORD: 'pw-value' });
  assert.deepEqual(kind.secrets!(settings).sort(), ['pw-value', 't0ken-value']);
  assert.equal(kind.groups, false);
  assert.deepEqual(kind.fromConfig!({ url: 'https://x/', retries: 3, tls: true }), { url: 'https://x/', retries: '3', tls: 'true' });
  assert.throws(() => kind.fromConfig!({ token: { nested: 'hidden-value' } }), (err: Error) => err instanceof ConfigError && /^token: expected a string/.test(err.message) && !err.message.includes('hidden-value'));
  assert.throws(() => kind.fromConfig!({ apiBase: 'x' }), (err: Error) => err instanceof ConfigError && /^apiBase: a setting name is lower case/.test(err.message));
  assert.deepEqual(kind.secrets!(kind.fromConfig!({ token: 'cfg-token' })), ['cfg-token']);
});

test('the options: --channel-module (repeatable, CHANNEL_MODULES a list), --channel-setting (repeatable), --module-timeout (10s)', () => {
  const cmd = new Command('t').exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
  for (const option of channelModuleOptions()) cmd.addOption(option);
  process.env.CHANNEL_MODULES = '/m/a.mjs, /m/b.mjs';
  try {
    cmd.parse(['--channel-module', '/m/c.mjs', '--channel-setting', 'a.x=1', '--channel-setting', 'a.y=2'], { from: 'user' });
  } finally {
    delete process.env.CHANNEL_MODULES;
  }
  assert.deepEqual(cmd.opts(), { channelModule: ['/m/c.mjs'], channelSetting: ['a.x=1', 'a.y=2'], moduleTimeout: 10_000 });
});

test('a create that throws, rejects, hangs or returns no send stops the start: one line naming channel and file', async () => {
  const cases: [string, RegExp][] = [
    ["throw new Error('url: required\\n(really)');", /its create failed: url: required \(really\)\.$/],
    ["return Promise.reject(new Error('no route'));", /its create failed: no route\.$/],
    ['return new Promise(() => {});', /its create did not finish within 300ms\.$/],
    ['return { sned() {} };', /its create returned an object with keys sned, not an object with a send function\.$/],
  ];
  for (const [body, re] of cases) {
    const file = await mod(`export default { kind: 'broken', create(settings, ctx) { ${body} } };`);
    const { kind, settings } = await only([file], [], {}, 300);
    const ch = kind.create(settings, { name: 'broken-2', log: (await captured()).log, from: '', httpTimeoutMs: 1000 });
    await refused(moduleChannelsReady([ch]), new RegExp(`^channel broken-2 \\(module ${file}\\): ${re.source}`), file);
    const result = await ch.send(sampleAlert('b-1'), SEND);
    assert.equal(result.ok === false && result.retry, false, 'a channel that did not start fails permanently');
  }
});

test('the module gets a frozen alert (the webhook record) and its settings, and logs through the mailer with its name', async () => {
  const file = await mod(`
    export default { kind: 'spy', create(settings, { name, log }) {
      log.info('made ' + name + ' with ' + settings.greeting + '\\nforged line');
      return { send(alert, options) {
        globalThis.spySeen = { alert, frozen: Object.isFrozen(alert), settingsFrozen: Object.isFrozen(settings), signal: options.signal instanceof AbortSignal };
        return { ok: true };
      } };
    } };`);
  const { log, lines } = await captured();
  const { kind } = await only([file]);
  const ch = kind.create({ greeting: 'hi' }, { name: 'spy', log, from: '', httpTimeoutMs: 1000 });
  await moduleChannelsReady([ch]);
  assert.deepEqual(await ch.send(sampleAlert('s-1', { incident: 'inc-1' }), SEND), { ok: true });
  const seen = (globalThis as unknown as { spySeen: Record<string, unknown> }).spySeen;
  assert.deepEqual(seen, {
    alert: { id: 's-1', status: 'down', to: 'admin@work', message: 'The service is down!', target: 'http://insideweb:80/', reason: 'connection refused', time: '2024-05-01T10:00:00.000Z', incident: 'inc-1', receivedAt: '2024-05-01T10:00:01.000Z' },
    frozen: true,
    settingsFrozen: true,
    signal: true,
  });
  assert.equal(lines(), 'spy: made spy with hi forged line\n');
  assert.equal(ch.concurrency, 4);
});

test('a send that throws, rejects, returns garbage or never settles is transient within the timeout', async () => {
  const cases: [string, RegExp][] = [
    ["throw new Error('kaput\\nline 2');", /^send threw: kaput line 2$/],
    ["return Promise.reject('a string');", /^send threw: a string$/],
    ['return Promise.reject(null);', /^send threw: a null$/],
    ['return undefined;', /^send returned undefined, not \{ ok: true \} or \{ ok: false, retry, error \}$/],
    ["return { ok: 'yes' };", /^send returned an object with keys ok, not/],
    ["return { ok: false, retry: 'no', error: 'x' };", /^send returned an object with keys ok, retry, error, not/],
    ["return { ok: false, retry: true, error: 'x', retryAfterMs: -1 };", /^send returned/],
    ['return new Promise(() => {});', /^no answer within 300ms \(module timeout\)$/],
  ];
  for (const [body, re] of cases) {
    const ch = await channel([await mod(`export default { kind: 'bad', create() { return { send() { ${body} } }; } };`)], 300);
    const t0 = Date.now();
    const result = await ch.send(sampleAlert('x-1'), SEND);
    assert.ok(Date.now() - t0 < 2000, `settled after ${Date.now() - t0} ms`);
    assert.equal(result.ok === false && result.retry, true, `${body}: ${JSON.stringify(result)}`);
    assert.match(result.ok === false ? result.error : '', re, body);
  }
});

test('a module\'s own verdict passes through: retry true with retryAfterMs, retry false permanent, its error one line', async () => {
  const ch = await channel([
    await mod(`let n = 0; export default { kind: 'verdict', create() { return { send() {
      n += 1;
      return n === 1 ? { ok: false, retry: true, error: 'busy\\nnow', retryAfterMs: 1500 } : { ok: false, retry: false, error: 'bad key' };
    } }; } };`),
  ]);
  assert.deepEqual(await ch.send(sampleAlert('v-1'), SEND), { ok: false, retry: true, error: 'busy now', retryAfterMs: 1500 });
  assert.deepEqual(await ch.send(sampleAlert('v-1'), SEND), { ok: false, retry: false, error: 'bad key' });
});

test('a hung send has its signal aborted at the timeout, and a late rejection is no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const file = await mod(`export default { kind: 'late', create() { return { send(alert, { signal }) {
      return new Promise((_, reject) => signal.addEventListener('abort', () => { globalThis.lateAborted = signal.reason?.message; setImmediate(() => reject(new Error('late'))); }));
    } }; } };`);
    const ch = await channel([file], 200);
    assert.deepEqual(await ch.send(sampleAlert('l-1'), SEND), { ok: false, retry: true, error: 'no answer within 200ms (module timeout)' });
    // Give the module's late rejection its turn, then look.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal((globalThis as unknown as { lateAborted: string }).lateAborted, 'no answer within 200ms');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('the dispatcher\'s abort settles a hung send at once as transient; an aborted send never reaches the module', async () => {
  const g = globalThis as unknown as { hangCalls?: number; hangStarted?: () => void };
  const started = new Promise<void>((r) => (g.hangStarted = r));
  const ch = await channel([await mod(`export default { kind: 'hang', create() { return { send() { globalThis.hangCalls = (globalThis.hangCalls ?? 0) + 1; globalThis.hangStarted(); return new Promise(() => {}); } }; } };`)], 60_000);
  const controller = new AbortController();
  const pending = ch.send(sampleAlert('h-1'), { signal: controller.signal });
  await started;
  controller.abort(new Error('the mailer is stopping'));
  assert.deepEqual(await pending, { ok: false, retry: true, error: 'send cancelled' });
  assert.deepEqual(await ch.send(sampleAlert('h-2'), { signal: controller.signal }), { ok: false, retry: true, error: 'send cancelled' });
  assert.equal(g.hangCalls, 1);
});

test('a module that never settles does not delay another module\'s channel', async () => {
  const [slow, fast] = await loadChannelModules(
    [await mod(simple('slow', 'return new Promise(() => {});')), await mod(simple('fast', 'await new Promise((r) => setTimeout(r, 5)); return { ok: true };'))],
    [],
    {},
    1000,
  );
  const { log } = await captured();
  const channels = [slow!, fast!].map(({ kind, settings }) => kind.create(settings, { name: kind.kind, log, from: '', httpTimeoutMs: 1000 }));
  await moduleChannelsReady(channels);
  const order: string[] = [];
  const hung = channels[0]!.send(sampleAlert('d-1'), SEND).then((r) => order.push(`slow ${r.ok}`));
  const quick = channels[1]!.send(sampleAlert('d-1'), SEND).then((r) => order.push(`fast ${r.ok}`));
  await quick;
  assert.deepEqual(order, ['fast true'], 'the fast channel delivered while the slow one still hangs');
  await hung;
  assert.deepEqual(order, ['fast true', 'slow false']);
});

test('close: the module\'s close is called and bounded; a close that throws is a warn line', async () => {
  const { log, lines } = await captured();
  const ok = await channel([await mod(`export default { kind: 'closer', create() { return { send() { return { ok: true }; }, close() { globalThis.closed = true; } }; } };`)], 300, log);
  await ok.close!();
  assert.equal((globalThis as unknown as { closed: boolean }).closed, true);
  const bad = await channel([await mod(`export default { kind: 'closer', create() { return { send() { return { ok: true }; }, close() { throw new Error('stuck'); } }; } };`)], 300, log);
  await bad.close!();
  assert.match(lines(), /^Channel closer \(module .*\): close failed: stuck\.$/m);
  const hung = await channel([await mod(`export default { kind: 'closer', create() { return { send() { return { ok: true }; }, close() { return new Promise(() => {}); } }; } };`)], 300, log);
  const t0 = Date.now();
  await hung.close!();
  assert.ok(Date.now() - t0 < 3000, `close took ${Date.now() - t0} ms`);
  assert.match(lines(), /did not close within 2s\./);
});

/**
 * The mailer's intake flags, parsed in this process: --token shuts the raw
 * protocol unless --raw (or RAW_PROTOCOL=on) asks for it, --no-raw wins,
 * MAILER_TOKEN= (empty) means no token, --to takes only bare addresses and
 * *@domain, --default-to (DEFAULT_TO) is one address --to allows, and the
 * connection limits have their documented defaults.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram, configFromOptions, type MailerConfig } from '../../mailer/cli.ts';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import { DEFAULT_MAX_CONNECTIONS_PER_PEER, defaultMaxConnections } from '../../mailer/intake/connection-limits.ts';

const TOKEN = 'tok-0123456789abcdef';

function parse(args: string[], env: Record<string, string> = {}): MailerConfig {
  const saved = { ...process.env };
  for (const key of ['MAILER_TOKEN', 'RAW_PROTOCOL', 'ALERT_TO', 'DEFAULT_TO', 'MAX_CONNECTIONS', 'MAX_CONNECTIONS_PER_PEER']) delete process.env[key];
  Object.assign(process.env, env);
  try {
    const program = buildProgram().exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
    program.parse(args, { from: 'user' });
    return configFromOptions(program.opts(), process.env);
  } finally {
    process.env = saved;
  }
}

test('without a token the raw protocol is on; --no-raw and RAW_PROTOCOL=off turn it off', () => {
  assert.equal(parse([]).raw, true);
  assert.equal(parse(['--no-raw']).rawOff, '--no-raw or RAW_PROTOCOL=off');
  assert.equal(parse([], { RAW_PROTOCOL: 'off' }).raw, false);
});

test('--token shuts the raw protocol unless --raw or RAW_PROTOCOL=on asks for it', () => {
  const shut = parse(['--token', TOKEN]);
  assert.equal(shut.raw, false);
  assert.equal(shut.rawOff, '--token is set and --raw is not');
  assert.equal(parse([], { MAILER_TOKEN: TOKEN }).raw, false);
  assert.equal(parse(['--token', TOKEN, '--raw']).raw, true);
  assert.equal(parse([], { MAILER_TOKEN: TOKEN, RAW_PROTOCOL: 'on' }).raw, true);
  assert.equal(parse(['--raw', '--no-raw'], { MAILER_TOKEN: TOKEN }).raw, false);
});

test('MAILER_TOKEN= (empty) means no token', () => {
  const config = parse([], { MAILER_TOKEN: '' });
  assert.equal(config.token, undefined);
  assert.equal(config.raw, true);
  assert.deepEqual(config.secrets, []);
});

test('--to takes bare addresses and *@domain, and refuses lists, display names and bad domains with a reason', () => {
  assert.deepEqual(parse(['--to', 'admin@work, *@Ops.Work']).allow, ['admin@work', '*@Ops.Work']);
  for (const bad of ['"a@work" <v@evil>', 'g: a@work;', 'admin', '*@evil..work', 'a@work (x)', 'v%evil@work']) {
    assert.throws(() => parse(['--to', bad]), /is not an e-mail address or \*@domain: /, bad);
  }
});

test('--default-to (DEFAULT_TO): the default recipient, inside the allowlist; without it the first plain --to address, or none', () => {
  const domainOnly = parse(['--to', '*@corp', '--default-to', 'oncall@Corp']);
  assert.equal(domainOnly.defaultTo, 'oncall@Corp');
  assert.equal(new Allowlist(domainOnly.allow, domainOnly.defaultTo).defaultRecipient, 'oncall@Corp');
  assert.equal(parse(['--to', 'admin@work,ops@work'], { DEFAULT_TO: 'ops@work' }).defaultTo, 'ops@work');
  assert.equal(new Allowlist(['admin@work', 'ops@work']).defaultRecipient, 'admin@work');
  assert.equal(new Allowlist(['*@corp']).defaultRecipient, undefined);
});

test('--default-to refuses what is not one address, and an address --to does not allow, each with one line', () => {
  for (const bad of ['a@corp,b@corp', '"x" <a@corp>', 'admin', '*@corp', 'a@corp (x)']) {
    assert.throws(() => parse(['--to', '*@corp', '--default-to', bad]), /is not an e-mail address: /, bad);
  }
  for (const [to, outside] of [['*@corp', 'x@evil.corp'], ['admin@work', 'ops@work'], ['*@corp,admin@work', 'a@corp.evil']]) {
    assert.throws(
      () => parse(['--to', to!, '--default-to', outside!]),
      (err: Error) => {
        assert.equal(err.message, `--default-to (DEFAULT_TO): "${outside}" is not on the allowlist (--to); add it, or its *@domain, to --to (ALERT_TO).`);
        return true;
      },
    );
  }
  assert.throws(() => new Allowlist(['*@corp'], 'x@work'), /"x@work" is not on the allowlist/);
});

test('--max-connections and --max-connections-per-peer: flags, env vars and defaults', () => {
  const defaults = parse([]);
  assert.equal(defaults.maxConnections, defaultMaxConnections());
  assert.ok(defaults.maxConnections <= 512);
  assert.equal(defaults.maxConnectionsPerPeer, DEFAULT_MAX_CONNECTIONS_PER_PEER);
  assert.equal(parse(['--max-connections', '100', '--max-connections-per-peer', '5']).maxConnectionsPerPeer, 5);
  assert.equal(parse([], { MAX_CONNECTIONS: '77' }).maxConnections, 77);
  assert.throws(() => parse(['--max-connections', '0']), /whole number/);
});

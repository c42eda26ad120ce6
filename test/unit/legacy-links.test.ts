import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostPort, linkEndpoint } from '../../shared/legacy-links.ts';
import { configFromOptions, buildProgram } from '../../agent/cli.ts';

test('link variables give the endpoint', () => {
  const env = { INSIDEWEB_PORT_80_TCP_ADDR: '172.17.0.2', INSIDEWEB_PORT_80_TCP_PORT: '80' };
  assert.deepEqual(linkEndpoint(env, 'insideweb', 80), { host: '172.17.0.2', port: 80 });
});

test('missing or half-set link variables give nothing', () => {
  assert.equal(linkEndpoint({}, 'insideweb', 80), undefined);
  assert.equal(linkEndpoint({ INSIDEWEB_PORT_80_TCP_ADDR: '172.17.0.2' }, 'insideweb', 80), undefined);
  assert.equal(linkEndpoint({ INSIDEWEB_PORT_80_TCP_PORT: '80' }, 'insideweb', 80), undefined);
});

test('an alias with a dash maps to underscores, as docker writes it', () => {
  const env = { MY_WEB_PORT_8080_TCP_ADDR: '10.0.0.9', MY_WEB_PORT_8080_TCP_PORT: '8080' };
  assert.deepEqual(linkEndpoint(env, 'my-web', 8080), { host: '10.0.0.9', port: 8080 });
});

test('a bad port in a link variable is an error naming the variable', () => {
  assert.throws(
    () => linkEndpoint({ INSIDEWEB_PORT_80_TCP_ADDR: 'x', INSIDEWEB_PORT_80_TCP_PORT: '99999' }, 'insideweb', 80),
    /INSIDEWEB_PORT_80_TCP_PORT/,
  );
});

test('hostPort brackets IPv6', () => {
  assert.equal(hostPort({ host: 'fd00::2', port: 80 }), '[fd00::2]:80');
  assert.equal(hostPort({ host: 'web', port: 80 }), 'web:80');
});

function agentConfig(argv: string[], env: Record<string, string>) {
  const program = buildProgram();
  program.exitOverride();
  program.parse(argv, { from: 'user' });
  return configFromOptions(program.opts(), env);
}

test('agent: link variables choose target and mailer; alerts still name insideweb', () => {
  const config = agentConfig([], {
    INSIDEWEB_PORT_80_TCP_ADDR: '172.17.0.2',
    INSIDEWEB_PORT_80_TCP_PORT: '80',
    INSIDEMAILER_PORT_33333_TCP_ADDR: '172.17.0.3',
    INSIDEMAILER_PORT_33333_TCP_PORT: '33333',
  });
  assert.equal(config.target.href, 'http://172.17.0.2/');
  assert.equal(config.targetName, 'http://insideweb:80/');
  assert.deepEqual(config.mailers, [{ host: '172.17.0.3', port: 33333 }]);
});

test('agent: without link variables the defaults are the book\'s aliases', () => {
  const config = agentConfig([], {});
  assert.equal(config.target.href, 'http://insideweb/');
  assert.deepEqual(config.mailers, [{ host: 'insidemailer', port: 33333 }]);
  assert.equal(config.intervalMs, 1000);
  assert.equal(config.to, 'admin@work');
  assert.equal(config.mailerProtocol, 'json');
});

test('agent: --target and --mailer override the link variables', () => {
  const config = agentConfig(['--target', 'https://example.test:8443/health', '--mailer', 'http://m:9000'], {
    INSIDEWEB_PORT_80_TCP_ADDR: '172.17.0.2',
    INSIDEWEB_PORT_80_TCP_PORT: '80',
  });
  assert.equal(config.target.href, 'https://example.test:8443/health');
  assert.equal(config.targetName, 'https://example.test:8443/health');
  assert.deepEqual(config.mailers, [{ host: 'm', port: 9000, http: true }]);
});

/**
 * The agent bundle's HTTP requests against a real server: a config file's
 * method, headers (a secret from the environment), body and basic auth reach
 * the server as given, and no secret is ever printed; an unset variable
 * stops the agent at start (exit 2, one line). JSON assertions on the answer
 * give a plain reason.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { after, test } from 'node:test';
import { configFiles } from '../support/config-files.ts';
import { run, start } from '../support/process.ts';

const { file } = configFiles('ch2-requests-proc-');
const TOKEN = 'Bearer tok-0123456789-secret';
const PASSWORD = 'pw-9876-secret';
const seen: { path: string; method: string; headers: IncomingMessage['headers']; body: string }[] = [];
let health = { status: 'UP', queue: { depth: 3 } };
const server = createServer((req, res) => {
  if (req.url === '/status.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(health));
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    seen.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body });
    const basic = `Basic ${Buffer.from(`monitor:${PASSWORD}`).toString('base64')}`;
    const ok = req.url === '/health' ? req.headers.authorization === TOKEN && req.method === 'POST' && body === '{"ping":true}' : req.headers.authorization === basic;
    res.writeHead(ok ? 200 : 401).end(ok ? 'fine' : 'who are you?');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());
const port = (server.address() as { port: number }).port;

const config = file(
  [
    'targets:',
    '  - name: api',
    `    url: http://127.0.0.1:${port}/health`,
    '    method: POST',
    '    headers: {Authorization: {env: API_TOKEN}, X-Probe: ch2}',
    `    body: '{"ping":true}'`,
    '  - name: shop',
    `    url: http://127.0.0.1:${port}/basic`,
    '    basicAuth: {user: monitor, password: {env: SHOP_PASSWORD}}',
    '',
  ].join('\n'),
  'yaml',
);

test('method, headers from the environment, body and basic auth reach the server; no secret is printed', async () => {
  const agent = start('agent', ['--config', config, '--view', 'lines', '--log-level', 'debug', '--mailer', '127.0.0.1:9'], { API_TOKEN: TOKEN, SHOP_PASSWORD: PASSWORD });
  try {
    await agent.waitFor(/api: up/);
    await agent.waitFor(/shop: up/);
  } finally {
    await agent.stop();
  }
  const api = seen.find((r) => r.path === '/health');
  assert.equal(api?.method, 'POST');
  assert.equal(api?.headers['x-probe'], 'ch2');
  assert.equal(api?.headers['content-length'], '13');
  assert.equal(api?.body, '{"ping":true}');
  const out = agent.output();
  for (const secret of [TOKEN, PASSWORD, Buffer.from(`monitor:${PASSWORD}`).toString('base64')]) assert.ok(!out.includes(secret), `printed a secret:\n${out}`);
});

test('a wrong password is down as the server answers; an unset variable stops the agent with one line (exit 2)', async () => {
  const agent = start('agent', ['--config', config, '--view', 'lines', '--mailer', '127.0.0.1:9'], { API_TOKEN: TOKEN, SHOP_PASSWORD: 'wrong' });
  try {
    await agent.waitFor(/shop: check failed: HTTP 401; confirming\./);
  } finally {
    await agent.stop();
  }
  const unset = run('agent', ['--config', config], { API_TOKEN: TOKEN });
  assert.equal(unset.code, 2);
  assert.equal(unset.stderr.trim().split('\n').length, 1, unset.stderr);
  assert.match(unset.stderr, /targets\[1\] \("shop"\): "basicAuth": password: the environment variable SHOP_PASSWORD is not set\./);
  assert.ok(!unset.stderr.includes(TOKEN));
});

test('json assertions: up while they hold; "$.status is \\"DOWN\\", expected \\"UP\\"" when one fails', async () => {
  const path = file(`{"targets": [{"name": "queue", "url": "http://127.0.0.1:${port}/status.json", "json": [{"path": "$.status", "equals": "UP"}, {"path": "$.queue.depth", "below": 100}]}]}`);
  const agent = start('agent', ['--config', path, '--interval', '200ms', '--view', 'lines', '--mailer', '127.0.0.1:9']);
  try {
    await agent.waitFor(/^System up\.$/m);
    health = { status: 'DOWN', queue: { depth: 3 } };
    await agent.waitFor(/^System down: \$\.status is "DOWN", expected "UP"\.$/m);
    health = { status: 'UP', queue: { depth: 250 } };
    await agent.waitFor(/^System down: \$\.queue\.depth is 250, expected below 100\.$/m);
  } finally {
    await agent.stop();
    health = { status: 'UP', queue: { depth: 3 } };
  }
});

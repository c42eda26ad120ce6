/**
 * mailer/healthcheck.ts: the mailer writes where it listens into its store
 * folder and the healthcheck reads it there (Docker runs the HEALTHCHECK
 * without the container's arguments); with no such file, or a damaged one,
 * the healthcheck's own --port and --bind apply. /healthz 200 is exit 0,
 * anything else 1.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { healthcheck, healthcheckTarget, LISTENING_FILE, readListening, writeListening } from '../../mailer/healthcheck.ts';

const root = mkdtempSync(join(tmpdir(), 'ch2-hc-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const store = (): string => {
  const dir = join(root, String(++n));
  mkdirSync(dir);
  return dir;
};

test("the healthcheck asks where the store's mailer said it listens, not its own --port", () => {
  const dir = store();
  writeListening(dir, { port: 4000, bind: '127.0.0.2' });
  assert.deepEqual(readdirSync(dir), [LISTENING_FILE], 'no temporary file left behind');
  assert.deepEqual(healthcheckTarget({ store: dir, port: 33333, bind: '0.0.0.0' }), { port: 4000, bind: '127.0.0.2' });
  writeListening(dir, { port: 4001, bind: '::' });
  assert.deepEqual(readListening(dir), { port: 4001, bind: '::' }, 'a new start overwrites it');
});

test('no file in the store, or a damaged one: its own --port and --bind (PORT, BIND_ADDRESS, the defaults)', () => {
  const own = { store: join(store(), 'missing'), port: 33333, bind: '0.0.0.0' };
  assert.deepEqual(healthcheckTarget(own), { port: 33333, bind: '0.0.0.0' });
  for (const text of ['', 'not json', 'null', '[]', '{"port": 0, "bind": "0.0.0.0"}', '{"port": 70000, "bind": "0.0.0.0"}', '{"port": "4000", "bind": "0.0.0.0"}', '{"port": 4000, "bind": "example.com"}', '{"port": 4000}']) {
    const dir = store();
    writeFileSync(join(dir, LISTENING_FILE), text);
    assert.equal(readListening(dir), undefined, text);
    assert.deepEqual(healthcheckTarget({ ...own, store: dir }), { port: 33333, bind: '0.0.0.0' }, text);
  }
});

async function serving(status: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('/healthz 200 is exit 0; 503 (degraded) or nobody listening is exit 1', async () => {
  for (const [status, code] of [[200, 0], [503, 1]] as const) {
    const server = await serving(status);
    const { port } = server.address() as AddressInfo;
    assert.equal(await healthcheck(port, '0.0.0.0'), code, `HTTP ${status}`);
    await new Promise((resolve) => server.close(resolve));
    assert.equal(await healthcheck(port, '127.0.0.1'), 1, 'closed');
  }
});

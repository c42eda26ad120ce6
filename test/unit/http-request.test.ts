/** What an HTTP check sends (method, headers, basic auth, body), on both backends, against a real node:http server. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { after, test } from 'node:test';
import { HttpConnections } from '../../agent/checks/http-connections.ts';
import { createHttpProbe } from '../../agent/checks/http-probe.ts';
import { basicAuthValue } from '../../agent/request-values.ts';
import { sampleTarget } from '../support/sample-target.ts';

const seen: { method: string; headers: IncomingMessage['headers']; body: string }[] = [];
const server = createServer((req, res) => {
  if (req.url === '/r1') return void res.writeHead(302, { location: '/r2' }).end();
  if (req.url === '/r2') return void res.writeHead(301, { location: `http://127.0.0.1:${port}/final` }).end();
  if (req.url === '/final') return void res.end('the final page');
  if (req.url === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', headers: req.headers, body });
    res.end('ok');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());
const port = (server.address() as { port: number }).port;

for (const backend of ['node', 'undici'] as const) {
  test(`${backend}: a PUT with headers, basic auth and a body, twice on one kept-alive connection`, async () => {
    const pool = new HttpConnections({ backend });
    const spec = sampleTarget(`http://127.0.0.1:${port}/${backend}`, {
      method: 'PUT',
      requestHeaders: { 'x-probe': 'ch2', accept: 'application/json' },
      basicAuth: basicAuthValue({ user: 'u', password: 'p' }, {}),
      requestBody: 'héllo',
    });
    pool.register(spec);
    const probe = createHttpProbe(spec, pool);
    seen.length = 0;
    for (let i = 0; i < 2; i++) assert.equal((await probe.check()).ok, true);
    await pool.close();
    assert.equal(seen.length, 2);
    for (const r of seen) {
      assert.equal(r.method, 'PUT');
      assert.equal(r.headers['x-probe'], 'ch2');
      assert.equal(r.headers.accept, 'application/json');
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
      assert.equal(r.headers['content-length'], '6');
      assert.equal(r.body, 'héllo');
    }
  });
}

for (const backend of ['node', 'undici'] as const) {
  test(`${backend}: follow: true judges the last answer of the redirects; without it a 3xx is the answer`, async () => {
    const pool = new HttpConnections({ backend });
    const followed = sampleTarget(`http://127.0.0.1:${port}/r1`, { name: 'followed', follow: true, bodyContains: 'the final page' });
    const plain = sampleTarget(`http://127.0.0.1:${port}/r1`, { name: 'plain' });
    const loop = sampleTarget(`http://127.0.0.1:${port}/loop`, { name: 'loop', follow: true });
    for (const s of [followed, plain, loop]) pool.register(s);
    const result = await createHttpProbe(followed, pool).check();
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.status, 200);
    const notFollowed = await createHttpProbe(plain, pool).check();
    assert.equal(notFollowed.status, 302);
    assert.equal(notFollowed.ok, true);
    assert.equal(notFollowed.location, undefined);
    assert.equal((await createHttpProbe(loop, pool).check()).reason, 'too many redirects (more than 5)');
    await pool.close();
  });
}

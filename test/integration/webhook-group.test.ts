/**
 * Grouping says what it does, on the images: a mailer with a `--config` of
 * two webhooks with `group: { wait: 3s }`, one plain and one templated (an
 * {{#alerts}} section), both into ch2/smtp-sink's receiver (alias sink).
 * Four alerts posted from the host within the wait: each webhook gets ONE
 * POST, whose body holds all four (the plain one: version, status,
 * receiver, to, title and an `alerts` array of the records an ungrouped
 * webhook gets; the templated one: what its template says, once per alert).
 * Before, `group:` on a webhook was silently ignored: four POSTs each.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import { follow } from './book-links.ts';
import { Cleanup, dockerOk, http, IMAGES, MAILER_STARTED, startNetwork, startSmtpSink, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

const CONFIG = `channels:
  - kind: webhook
    url: http://sink:8025/hooks/plain
    group: { wait: 3s }
  - name: templated
    kind: webhook
    url: http://sink:8025/hooks/templated
    template: /etc/ch2/group.yaml
    group: { wait: 3s }
`;
const TEMPLATE = `contentType: application/json
headers: { X-Count: "{{count}}" }
body: |
  {"text": "{{title}}", "n": {{count}}, "items": [{{#alerts}}{"id": "{{id}}", "target": "{{target}}"}{{^last}}, {{/last}}{{/alerts}}]}
`;

describe('webhook group: true on the images: one POST for four alerts within the group wait', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('four alerts within the wait: one POST per grouped webhook, holding all four, in the documented shape', { timeout: 90_000 }, async () => {
    const net = await startNetwork(cleanup);
    const sink = await startSmtpSink(net, cleanup, 'sink');
    const dir = await mkdtemp(join(tmpdir(), 'ch2-webhook-group-'));
    cleanup.defer('remove the mapped config', () => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    for (const [name, text] of [['mailer.yaml', CONFIG], ['group.yaml', TEMPLATE]] as const) {
      await writeFile(join(dir, name), text);
      await chmod(join(dir, name), 0o644); // the image's user reads them
    }
    const name = uniqueName('mailer');
    cleanup.names(name);
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', name, '--network', net.getName(), '-p', '127.0.0.1::33333',
      '-v', `${dir}:/etc/ch2:ro`, IMAGES.mailer, '--config', '/etc/ch2/mailer.yaml',
    ]);
    const logs = follow(cleanup, name, 'mailer');
    await logs.waitFor(MAILER_STARTED, 20_000);
    const port = (await dockerOk(['port', name, '33333/tcp'])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
    assert.ok(port, "the mailer's port is mapped on 127.0.0.1");
    const url = `http://${port.trim()}`;
    assert.deepEqual(((await http('GET', `${url}/healthz`)).json as { channels: string[] }).channels, ['log', 'webhook', 'templated']);

    const targets = [1, 2, 3, 4].map((n) => `http://web-${n}:80/`);
    const time = new Date().toISOString();
    const posted = Date.now();
    const ids: string[] = [];
    for (const target of targets) {
      const r = await http('POST', `${url}/alerts`, { message: 'The service is down!', to: 'admin@work', status: 'down', target, reason: 'connection refused', time });
      assert.equal(r.status, 202, r.text);
      ids.push((r.json as { id: string }).id);
    }
    assert.ok(Date.now() - posted < 2_500, `the four alerts were posted within the 3 s wait (${Date.now() - posted} ms)`);
    for (const id of ids) for (const channel of ['webhook', 'templated']) await logs.waitFor(new RegExp(`Delivered alert ${id} via ${channel}\\.`), 20_000);
    await waitUntil('no deliveries active in the mailer', async () => ((await http('GET', `${url}/healthz`)).json as { deliveriesActive?: number }).deliveriesActive === 0 || undefined, 15_000, 200);

    const hooks = (await http('GET', `${sink.api}/hooks`)).json as StoredHook[];
    const plain = hooks.filter((h) => h.name === 'plain');
    assert.equal(plain.length, 1, `one POST to the plain webhook, got ${plain.length}:\n${plain.map((h) => h.body).join('\n')}`);
    assert.match(String(plain[0]!.headers['idempotency-key']), /^group-[0-9a-f]{32}$/, "the key is a hash of the members' ids");
    const body = plain[0]!.json as { alerts: Record<string, unknown>[] } & Record<string, unknown>;
    assert.deepEqual({ ...body, alerts: body.alerts.length }, {
      version: '1',
      status: 'down',
      receiver: 'webhook',
      to: 'admin@work',
      title: `[DOWN] 4 targets: ${targets.join(', ')} — The service is down!`,
      alerts: 4,
    });
    assert.deepEqual(
      body.alerts.map((a) => ({ ...a, receivedAt: typeof a.receivedAt })),
      ids.map((id, i) => ({ id, status: 'down', to: 'admin@work', message: 'The service is down!', target: targets[i], reason: 'connection refused', time, receivedAt: 'string' })),
      'each alert as an ungrouped webhook gets it, in the order they were accepted',
    );

    const templated = hooks.filter((h) => h.name === 'templated');
    assert.equal(templated.length, 1, `one POST to the templated webhook, got ${templated.length}`);
    assert.equal(templated[0]!.headers['x-count'], '4');
    assert.deepEqual(templated[0]!.json, {
      text: `[DOWN] 4 targets: ${targets.join(', ')} — The service is down!`,
      n: 4,
      items: ids.map((id, i) => ({ id, target: targets[i] })),
    });
  });
});

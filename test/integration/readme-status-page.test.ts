/**
 * The README's status page examples on the images: docs/examples/status-page.sh
 * (a mailer with a token and --public-status published on a loopback port,
 * an agent with the token reporting every 2s, the JSON status and a badge
 * fetched with curl from the host, without the token) and
 * docs/examples/silence.sh with docs/examples/silence.json (a silence posted
 * from the host with the token, HTTP Basic), after which `docker stop web` makes an incident shown as
 * silenced and no `Sending email` line: the silence holds the outage's alert
 * from every channel. The mapping is readme-examples.test.ts's: unique names,
 * the image under test; the published host port is chosen by Docker
 * (`127.0.0.1::33333`) and put into each curl URL; curl runs in a scratch folder.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, shown, type Step, steps } from '../support/readme.ts';
import { follow } from './book-links.ts';
import { Cleanup, dockerOk, IMAGES, MAILER_STARTED, run, SYSTEM_UP, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

describe('the status page examples of the README on the images', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  const scratch = mkdtempSync(join(tmpdir(), 'ch2-readme-status-'));
  after(async () => {
    await cleanup.run();
    rmSync(scratch, { recursive: true, force: true });
  }, { timeout: 60_000 });

  test('status-page.sh, then silence.sh: the page lists the target, a badge says up, a silence keeps the outage from the channels', { timeout: 120_000 }, async () => {
    const names = new Map(['web', 'mailer', 'agent'].map((n) => [n, uniqueName(n)]));
    cleanup.names(...names.values());
    let hostPort = '';
    const word = (w: string): string => {
      const image = /^ch2\/(agent|mailer)(:latest)?$/.exec(w);
      if (image) return IMAGES[image[1] as 'agent' | 'mailer'];
      if (w === '127.0.0.1:33333:33333') return '127.0.0.1::33333';
      const link = /^([a-z]+):([a-z]+)$/.exec(w);
      if (link && names.has(link[1]!)) return `${names.get(link[1]!)}:${link[2]}`;
      return names.get(w) ?? w.replace('http://127.0.0.1:33333/', `http://127.0.0.1:${hostPort}/`);
    };
    const docker = (step: Step) => {
      const argv = step.argv.slice(1).map(word);
      if (argv[0] === 'run') argv.splice(1, 0, '--label', TEST_LABEL);
      return dockerOk(argv, { timeoutMs: 30_000 });
    };
    const curl = async (step: Step): Promise<string> => {
      assert.equal(step.argv[0], 'curl');
      const r = await run('curl', [...step.argv.slice(1).map(word), '--max-time', '10'], { cwd: scratch, timeoutMs: 15_000 });
      assert.equal(r.code, 0, `curl ${step.argv.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };

    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', names.get('web')!, IMAGES.nginx]);
    const [mailerStep, agentStep, statusStep, badgeStep, ...rest] = steps(shown('docs/examples/status-page.sh'));
    assert.ok(mailerStep && agentStep && statusStep && badgeStep && rest.length === 0, 'four commands: mailer, agent, status, badge');
    await docker(mailerStep);
    const mailerLogs = follow(cleanup, names.get('mailer')!, 'mailer');
    await mailerLogs.waitFor(MAILER_STARTED, 15_000);
    await mailerLogs.waitFor(/^Status page: http:\/\/localhost:33333\/ /m, 5_000);
    hostPort = (await dockerOk(['port', names.get('mailer')!, '33333/tcp'])).stdout.trim().split('\n')[0]!.split(':').at(-1)!;
    assert.match(hostPort, /^\d+$/);
    await docker(agentStep);
    const agentLogs = follow(cleanup, names.get('agent')!, 'agent');
    await agentLogs.waitFor(SYSTEM_UP, 15_000);

    // The agent reports every 2s: the status lists its target, up, within a few reports.
    const status = await waitUntil('the tutorial target up in /api/v1/status', async () => {
      const body = JSON.parse(await curl(statusStep)) as { targets: Array<{ name: string; state: string; uptime: Record<string, number | null> }>; agents: Array<{ state: string }> };
      return body.targets.find((t) => t.name === 'http://insideweb:80/' && t.state === 'up') ? body : undefined;
    }, 15_000, 250);
    assert.equal(status.agents[0]?.state, 'reporting');
    assert.equal(status.targets[0]?.uptime['24h'], 1);
    await curl(badgeStep);
    const svg = readFileSync(join(scratch, 'status.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.match(svg, />up</);

    // The silence, posted from the host, then the outage it covers.
    const [silenceStep, ...more] = steps(shown('docs/examples/silence.sh'));
    assert.ok(silenceStep && more.length === 0);
    copyFileSync(join(ROOT, 'docs/examples/silence.json'), join(scratch, 'silence.json'));
    const silence = JSON.parse(await curl(silenceStep)) as { id: string; target: string; until: string };
    assert.equal(silence.target, '*insideweb*');
    assert.ok(Date.parse(silence.until) > Date.now() + 3_600_000);
    await dockerOk(['stop', names.get('web')!], { timeoutMs: 20_000 });
    await mailerLogs.waitFor(/Alert \S+ via log is silenced \(silence \S+\); kept, sent when the silence ends if still due\./, 15_000);
    const incidents = await waitUntil('the open incident, its delivery held', async () => {
      const r = await run('curl', ['-s', '--max-time', '5', `http://127.0.0.1:${hostPort}/api/v1/incidents?state=open`], { timeoutMs: 10_000 });
      const list = JSON.parse(r.stdout) as Array<{ target: string; silenced: boolean; deliveries: Array<{ channel: string; state: string }> }>;
      return list.find((i) => i.target === 'http://insideweb:80/' && i.deliveries.length > 0);
    }, 10_000, 250);
    assert.equal(incidents.silenced, true);
    assert.deepEqual(incidents.deliveries.map((d) => [d.channel, d.state]), [['log', 'silenced']], 'the log channel holds the alert while the silence lasts');
    assert.doesNotMatch(mailerLogs.text, /Sending email:/, 'the silenced alert reached no channel, not even the log');
  });
});

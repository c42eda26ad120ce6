/**
 * At least once, through crashes: 500 alerts are POSTed by 20 senders to the
 * real ch2/mailer container (SMTP into ch2/smtp-sink), and the mailer is
 * killed with SIGKILL five times along the way, each time started again on
 * the same store volume. The senders do what the agent does: an alert that
 * got no 202 is resent, with the same id, until one comes. Every alert that
 * got a 202 reaches the SMTP server; a copy may repeat (a kill between the
 * server's "250 OK" and the store's record of it), but only with the same
 * Message-ID, which is how a mail system tells a repeat of one message from
 * a second message. Repeats are counted and printed. Grouping is off
 * (--group-wait 0): a group resent after a kill may have other members, so
 * other Message-ID; this is about each alert's own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import {
  Cleanup,
  containerIp,
  docker,
  dockerOk,
  http,
  IMAGES,
  MAILER_STARTED,
  randomId,
  startSmtpSink,
  startNetwork,
  TEST_LABEL,
  uniqueName,
  waitUntil,
  type Started,
  type StartedNetwork,
} from './helpers.ts';

const TOTAL = 500;
const SENDERS = 20;
const KILLS = 5;

describe('SIGKILL of the mailer five times amid 500 alerts', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  const mailer = uniqueName('mailer');
  const volume = `ch2it-${randomId()}-store`;
  let net: StartedNetwork;
  let sink: Started & { api: string };

  const messages = async (): Promise<StoredMessage[]> => (await http('GET', `${sink.api}/messages`)).json as StoredMessage[];
  const header = (raw: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw)?.[1]?.trim();
  const starts = async (): Promise<number> => (await docker(['logs', mailer])).stdout.match(new RegExp(MAILER_STARTED.source, 'g'))?.length ?? 0;

  before(async () => {
    net = await startNetwork(cleanup);
    sink = await startSmtpSink(net, cleanup);
    await dockerOk(['volume', 'create', '--label', TEST_LABEL, volume]);
    cleanup.defer(`docker volume rm ${volume}`, () => docker(['volume', 'rm', '-f', volume]));
    cleanup.names(mailer);
    await dockerOk([
      'run', '-d', '--name', mailer, '--label', TEST_LABEL, '--network', net.getName(),
      '-v', `${volume}:/var/lib/ch2-mailer`, IMAGES.mailer, '--smtp', 'smtp://smtp:2525', '--group-wait', '0',
    ]);
    await waitUntil('the mailer to start', async () => ((await starts()) === 1 ? true : undefined), 30_000);
  });

  after(() => cleanup.run());

  test('at least once: every alert that got a 202 is delivered; a repeat only with the same Message-ID', async () => {
    const ids: string[] = Array.from({ length: TOTAL }, () => randomUUID());
    const acked = new Set<string>();
    let url = `http://${await containerIp(mailer)}:33333`;
    let kills = 0;
    let restarting: Promise<void> | undefined;
    // Kill after every 80 acknowledged alerts, start again at once, on the same volume.
    const killAndStart = async (): Promise<void> => {
      const before = await starts();
      await dockerOk(['kill', '-s', 'KILL', mailer]);
      kills += 1;
      await dockerOk(['start', mailer]);
      await waitUntil('the mailer to start again', async () => ((await starts()) > before ? true : undefined), 30_000, 50);
      url = `http://${await containerIp(mailer)}:33333`;
    };
    const post = async (id: string): Promise<boolean> => {
      try {
        const r = await http('POST', `${url}/alerts`, { id, to: 'admin@work', message: `crash test ${id}`, target: 'http://insideweb:80/' }, { timeoutMs: 3_000 });
        return r.status === 202;
      } catch {
        return false;
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < TOTAL) {
          // No new alert starts while the mailer restarts (those in flight, at most SENDERS, meet the kill),
          // so the stream cannot run out before the fifth kill.
          if (restarting) await restarting;
          if (next >= TOTAL) break;
          const id = ids[next++]!;
          // The agent's way: resend with the same id until a 202 comes.
          for (let attempt = 0; !(await post(id)); attempt++) {
            assert.ok(attempt < 200, `alert ${id} was never accepted`);
            await (restarting ?? new Promise((r) => setTimeout(r, 50)));
          }
          acked.add(id);
          if (!restarting && kills < KILLS && acked.size >= (kills + 1) * 80) {
            restarting = killAndStart().finally(() => (restarting = undefined));
          }
        }
      }),
    );
    await restarting;
    assert.equal(kills, KILLS, `${KILLS} kills amid the stream`);
    assert.equal(acked.size, TOTAL);

    const byId = await waitUntil(
      `${TOTAL} alerts at the SMTP server`,
      async () => {
        const seen = new Map<string, StoredMessage[]>();
        for (const m of await messages()) {
          const id = header(m.raw, 'X-Ch2-Alert-Id');
          if (id) seen.set(id, [...(seen.get(id) ?? []), m]);
        }
        return ids.every((id) => seen.has(id)) ? seen : undefined;
      },
      60_000,
      250,
    );
    assert.deepEqual([...byId.keys()].filter((id) => !ids.includes(id)), [], 'nothing that was not sent');
    let repeats = 0;
    for (const id of ids) {
      const copies = byId.get(id)!;
      const messageIds = new Set(copies.map((m) => header(m.raw, 'Message-ID')));
      assert.equal(messageIds.size, 1, `alert ${id} arrived as ${messageIds.size} different messages`);
      repeats += copies.length - 1;
    }
    assert.match((await docker(['logs', mailer])).stdout, /resuming \d+ unfinished alert\(s\); \d+ delivered alert id\(s\) remembered/);
    console.log(`# at-least-once: ${KILLS} kills, ${TOTAL} alerts, ${repeats} repeated with the same Message-ID`);
  });
});

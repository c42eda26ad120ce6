/**
 * No alert lost, none sent twice, through a crash: 500 alerts are POSTed to
 * the real ch2/mailer container (SMTP into ch2/smtp-sink) and the mailer is
 * killed with SIGKILL in the middle, then started again on the same spool
 * volume. The sender then does what the agent does: it resends, with the
 * same ids, every alert that got no 202. Every alert that got a 202 (and in
 * the end every one of the 500) reaches the SMTP server, and each as one
 * message: the mailer resends nothing it had recorded as delivered, and a
 * message resent because the kill fell between the server's "250 OK" and
 * the spool's record of it carries the same Message-ID, which is how a mail
 * system tells a repeat of one message from a second message.
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
const KILL_AFTER = 150;

interface Outcome {
  id: string;
  accepted: boolean;
}

describe('SIGKILL of the mailer in the middle of 500 alerts', { timeout: 300_000 }, () => {
  const cleanup = new Cleanup();
  const mailer = uniqueName('mailer');
  const volume = `ch2it-${randomId()}-spool`;
  let net: StartedNetwork;
  let sink: Started & { api: string };
  let sinkApi: string;

  const mailerUrl = async (): Promise<string> => `http://${await containerIp(mailer)}:33333`;
  const messages = async (): Promise<StoredMessage[]> => (await http('GET', `${sinkApi}/messages`)).json as StoredMessage[];
  const header = (raw: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw)?.[1]?.trim();

  before(async () => {
    net = await startNetwork(cleanup);
    sink = await startSmtpSink(net, cleanup);
    sinkApi = sink.api;
    await dockerOk(['volume', 'create', '--label', TEST_LABEL, volume]);
    cleanup.defer(`docker volume rm ${volume}`, () => docker(['volume', 'rm', '-f', volume]));
    cleanup.names(mailer);
    await dockerOk([
      'run', '-d', '--name', mailer, '--label', TEST_LABEL, '--network', net.getName(),
      '-v', `${volume}:/var/lib/ch2-mailer`, IMAGES.mailer, '--smtp', 'smtp://smtp:2525',
    ]);
    await waitUntil('the mailer to start', async () => (MAILER_STARTED.test((await docker(['logs', mailer])).stdout) ? true : undefined), 30_000);
  });

  after(() => cleanup.run());

  test('every alert that got a 202 is delivered, none twice', async () => {
    const ids: string[] = Array.from({ length: TOTAL }, () => randomUUID());
    const url = await mailerUrl();
    const outcomes: Outcome[] = [];
    let next = 0;
    let killed: Promise<unknown> | undefined;
    const post = async (id: string, base: string): Promise<boolean> => {
      try {
        const r = await http('POST', `${base}/alerts`, { id, to: 'admin@work', message: `crash test ${id}`, target: 'http://insideweb:80/' }, { timeoutMs: 5_000 });
        return r.status === 202;
      } catch {
        return false;
      }
    };
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < TOTAL) {
          const id = ids[next++]!;
          const accepted = await post(id, url);
          outcomes.push({ id, accepted });
          if (!killed && outcomes.filter((o) => o.accepted).length >= KILL_AFTER) {
            killed = dockerOk(['kill', '-s', 'KILL', mailer]);
          }
        }
      }),
    );
    await killed;
    const acked = outcomes.filter((o) => o.accepted).map((o) => o.id);
    const refused = outcomes.filter((o) => !o.accepted).map((o) => o.id);
    assert.ok(acked.length >= KILL_AFTER && refused.length > 0, `the kill came mid-stream (${acked.length} acked, ${refused.length} not)`);

    await dockerOk(['start', mailer]);
    await waitUntil(
      'the mailer to start again',
      async () => ((await docker(['logs', mailer])).stdout.match(/CH2 Example Mailer has started\./g)?.length === 2 ? true : undefined),
      30_000,
    );
    // Every alert that got a 202 before the kill is delivered, with no help from the sender.
    const delivered = async (want: readonly string[]): Promise<Map<string, StoredMessage[]>> =>
      waitUntil(
        `${want.length} alerts at the SMTP server`,
        async () => {
          const byId = new Map<string, StoredMessage[]>();
          for (const m of await messages()) {
            const id = header(m.raw, 'X-Ch2-Alert-Id');
            if (id) byId.set(id, [...(byId.get(id) ?? []), m]);
          }
          return want.every((id) => byId.has(id)) ? byId : undefined;
        },
        120_000,
        500,
      );
    await delivered(acked);

    // The sender resends what got no 202, with the same ids, as the agent does.
    const again = await mailerUrl();
    for (const id of refused) assert.ok(await post(id, again), `resent alert ${id} accepted`);
    const byId = await delivered(ids);

    const extra = [...byId.keys()].filter((id) => !ids.includes(id));
    assert.deepEqual(extra, []);
    let repeats = 0;
    for (const id of ids) {
      const copies = byId.get(id)!;
      const messageIds = new Set(copies.map((m) => header(m.raw, 'Message-ID')));
      assert.equal(messageIds.size, 1, `alert ${id} arrived as ${messageIds.size} different messages`);
      repeats += copies.length - 1;
    }
    const logs = (await docker(['logs', mailer])).stdout;
    assert.match(logs, /resuming \d+ unfinished alert\(s\); \d+ delivered alert id\(s\) remembered/);
    if (repeats > 0) console.log(`# ${repeats} message(s) were repeated with the same Message-ID (kill between 250 OK and the spool record)`);
  });
});

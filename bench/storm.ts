/**
 * storm (issue 9): 5,000 alerts in one burst, each about its own target, for
 * one recipient, through smtp (a real SMTP server, smtp-server, on loopback)
 * and one chat channel (a Slack fake on loopback: `--notify slack://…?api=`),
 * grouping on (the defaults: wait 1s, interval 10s, at most 50 alerts a
 * message; Slack at most one message a second). The mailer runs as a local
 * process from dist/mailer.mjs with a durable store.
 *
 * Figures: time from the first alert posted to the last e-mail and the last
 * chat message; messages each got; whether they name every target; the
 * mailer's CPU over the storm and its peak RSS. Then the agent's side
 * (agent-storm.ts): 5,000 targets down at once on one agent, from the first
 * to the last 202, with the sequential sends of before and the batches.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { agentStorm } from './agent-storm.ts';
import { LeanConnection } from './lean-http-client.ts';
import { defer, type Figures, mb, progress, startProcess, waitUntil, withTimeout } from './lib.ts';
import { freePort } from './local-servers.ts';
import { cpuMeter, statusBytes } from './proc-meters.ts';

export interface StormOptions {
  alerts: number;
  concurrency: number;
  /** The agent's storm: targets of one agent that go down at once. */
  targets: number;
  /** Only the agent's storm (skip the mailer's, which takes about 100 s). */
  agentOnly?: boolean;
}

const B = 'storm';

export async function storm(figures: Figures, opts: StormOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-storm-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  const mails: { at: number; text: string }[] = [];
  const chats: { at: number; text: string }[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        // The body lists every alert of a group; quoted-printable soft breaks taken out.
        mails.push({ at: performance.now(), text: raw.replace(/=\r?\n/g, '') });
        cb();
      });
    },
  });
  const chat = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      try {
        chats.push({ at: performance.now(), text: String((JSON.parse(body) as { text?: unknown }).text ?? '') });
      } catch {
        chats.push({ at: performance.now(), text: '' });
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => chat.listen(0, '127.0.0.1', () => r()));
  const closeServers = defer('close the fakes', async () => {
    await new Promise<void>((r) => smtp.close(() => r()));
    await new Promise<void>((r) => chat.close(() => r()));
  });
  try {
    if (!opts.agentOnly) await mailerStorm(figures, opts, work);
    await agentStorm(figures, opts.targets, work);
  } finally {
    await closeServers();
    await removeWork();
  }

  /** The mailer's storm: 5,000 alerts posted through smtp and the chat fake. */
  async function mailerStorm(figures: Figures, opts: StormOptions, work: string): Promise<void> {
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    const chatPort = (chat.address() as AddressInfo).port;
    const port = await freePort();
    const logFile = join(work, 'mailer.log');
    const args = [
      'dist/mailer.mjs', '--port', String(port), '--bind', '127.0.0.1', '--store', join(work, 'store'),
      '--smtp', `smtp://127.0.0.1:${smtpPort}`,
      '--notify', `slack://hook:T0-B0-X0@webhook?api=http://127.0.0.1:${chatPort}`,
    ];
    progress(B, `mailer on 127.0.0.1:${port}, smtp sink :${smtpPort}, Slack fake :${chatPort}; log in ${logFile}`);
    const mailer = startProcess('mailer', process.execPath, args, { output: { file: logFile } });
    try {
      await waitUntil('the mailer to start', () => (mailer.child.exitCode !== null ? Promise.reject(new Error(readFileSync(logFile, 'utf8').slice(-2000))) : /has started/.test(readFileSync(logFile, 'utf8')) ? true : undefined), 20_000, 100);
      const cpu = await cpuMeter(mailer.pid);
      let peakRss = 0;
      const sampler = setInterval(() => {
        try {
          peakRss = Math.max(peakRss, statusBytes(mailer.pid));
        } catch {
          // exited
        }
      }, 100);
      const t0 = performance.now();
      let next = 0;
      let refused = 0;
      const sender = async (): Promise<void> => {
        const connection = new LeanConnection('127.0.0.1', port);
        try {
          for (;;) {
            const i = next++;
            if (i >= opts.alerts) return;
            const body = JSON.stringify({ to: 'admin@work', message: 'The service is down!', status: 'down', target: `web-${i + 1}`, reason: 'connection refused' });
            if ((await connection.post('127.0.0.1', '/alerts', body)) !== 202) refused += 1;
          }
        } finally {
          connection.close();
        }
      };
      await withTimeout(Promise.all(Array.from({ length: opts.concurrency }, sender)), 120_000, `${opts.alerts} alerts`);
      const posted = performance.now() - t0;
      // Every target named in some e-mail and some chat message.
      const named = (texts: string[]): number => {
        const seen = new Set<string>();
        for (const t of texts) for (const m of t.matchAll(/web-\d+/g)) seen.add(m[0]);
        return seen.size;
      };
      // Bounded: 5,000 alerts at 50 a message and Slack's one a second take about 100 s.
      await waitUntil('every target in an e-mail and a chat message', () => (named(mails.map((m) => m.text)) >= opts.alerts && named(chats.map((c) => c.text)) >= opts.alerts ? true : undefined), 600_000, 250);
      const mailerCpu = cpu.end();
      clearInterval(sampler);
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('Sending email: ')).length;
      figures.add(B, `${opts.alerts} alerts posted (${opts.concurrency} senders)`, `${(posted / 1000).toFixed(2)} s`, undefined, refused ? `${refused} not answered 202` : undefined);
      figures.add(B, 'e-mails sent (grouping on)', String(mails.length), undefined, `last at ${((mails.at(-1)!.at - t0) / 1000).toFixed(1)} s`);
      figures.add(B, 'chat messages sent (Slack fake, 1/s)', String(chats.length), undefined, `first at ${((chats[0]!.at - t0) / 1000).toFixed(1)} s, last at ${((chats.at(-1)!.at - t0) / 1000).toFixed(1)} s`);
      const gaps = chats.slice(1).map((c, i) => c.at - chats[i]!.at);
      figures.add(B, 'shortest gap between chat messages', `${Math.round(Math.min(...gaps))} ms`, '>= 1000 ms (Slack 1/s)');
      figures.add(B, 'time to the last message', `${((Math.max(mails.at(-1)!.at, chats.at(-1)!.at) - t0) / 1000).toFixed(1)} s`);
      figures.add(B, '"Sending email" lines in the log', String(lines), String(opts.alerts));
      figures.add(B, 'mailer CPU over the storm', `${mailerCpu.toFixed(0)} % of one core`);
      figures.add(B, 'mailer peak RSS', mb(peakRss));
    } finally {
      await mailer.stop(5000);
    }
  }
}

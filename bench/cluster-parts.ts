/**
 * The parts the cluster benchmark (bench/cluster.ts) runs: a Postgres server
 * (the postgres:15 image; on this machine the stand-in scripts/images.sh
 * builds from Debian's postgresql-15) published on a loopback port, a local
 * SMTP server (smtp-server) that can hold every DATA answer (`hold()`: what
 * a mailer sends meanwhile is never acknowledged, so its deliveries stay
 * owed), and mailer bundles on loopback. Every part is registered for
 * cleanup (bench/lib.ts).
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { BENCH_LABEL, defer, dockerOk, type Proc, randomTag, removeContainers, startProcess, waitUntil } from './lib.ts';
import { freePort } from './local-servers.ts';

export const POSTGRES_IMAGE = 'postgres:15';
const PASSWORD = 'bench-pw-3d9';

export interface BenchPostgres {
  url(db: string): string;
  createDatabase(db: string): Promise<void>;
}

export async function startPostgres(): Promise<BenchPostgres> {
  const name = `ch2-bench-${randomTag()}-postgres`;
  const port = await freePort();
  await dockerOk(['run', '-d', '--name', name, '--label', BENCH_LABEL, '-p', `127.0.0.1:${port}:5432`, '-e', `POSTGRES_PASSWORD=${PASSWORD}`, POSTGRES_IMAGE]);
  defer(`remove ${name}`, () => removeContainers(name));
  const url = (db: string): string => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${db}`;
  const sql = async (text: string): Promise<void> => {
    const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await waitUntil('Postgres to take connections', () => sql('SELECT 1').then(() => true, () => undefined), 60_000, 200);
  return { url, createDatabase: (db) => sql(`CREATE DATABASE "${db}"`) };
}

export interface BenchSmtp {
  port: number;
  /** Each alert in an accepted message: when (performance.now()) and the bench id its text carries. */
  accepted: Array<{ at: number; id: string }>;
  /** From now, hold every DATA answer (nothing is acknowledged). */
  hold(): void;
  /** Answer what is held with 451 (its sender retries) and accept again. */
  release(): void;
}

/** The id a bench alert's message carries: "bench <id>". */
const ID = /bench ([0-9a-f-]{36})/g;

export async function startSmtp(): Promise<BenchSmtp> {
  const accepted: BenchSmtp['accepted'] = [];
  let holding = false;
  let held: Array<(err?: Error) => void> = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        if (holding) return void held.push(cb);
        // A message may list several alerts (grouping); quoted-printable soft breaks taken out.
        const at = performance.now();
        for (const id of new Set([...raw.replace(/=\r?\n/g, '').matchAll(ID)].map((m) => m[1]!))) accepted.push({ at, id }); // each id once a message (subject and body both carry it)
        cb();
      });
    },
  });
  smtp.on('error', () => {});
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  defer('close the SMTP server', () => new Promise<void>((r) => smtp.close(() => r())));
  return {
    port: (smtp.server.address() as AddressInfo).port,
    accepted,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      const answer = held;
      held = [];
      for (const cb of answer) cb(Object.assign(new Error('held for the bench; try again'), { responseCode: 451 }));
    },
  };
}

export interface BenchMailer {
  proc: Proc;
  port: number;
}

/**
 * A mailer bundle on a store (a folder or a postgres:// URL), delivering to the SMTP server, one
 * e-mail an alert (--group-wait 0: a grouped e-mail would wait out the group interval of the last
 * one, up to 10 s, which is the grouping's time, not the store's).
 */
export async function startMailer(name: string, store: string, smtpPort: number): Promise<BenchMailer> {
  const port = await freePort();
  const proc = startProcess(name, process.execPath, ['dist/mailer.mjs', '--port', String(port), '--bind', '127.0.0.1', '--store', store, '--smtp', `smtp://127.0.0.1:${smtpPort}`, '--group-wait', '0', '--status-page', 'off', '--agent-silence', 'off']);
  await Promise.race([
    proc.out.waitFor(/CH2 Example Mailer has started\./, 30_000),
    proc.exited.then(({ code }) => Promise.reject(new Error(`${name} exited ${code}: ${proc.out.tail(10)}`))),
  ]);
  return { proc, port };
}

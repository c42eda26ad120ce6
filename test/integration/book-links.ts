/**
 * The book's web (nginx) and mailer (ours) containers on the default bridge, for an
 * agent run with `--link web:insideweb --link mailer:insidemailer`, through the docker CLI.
 */
import { type Cleanup, dockerOk, followDockerLogs, IMAGES, type LogBuffer, MAILER_STARTED, TEST_LABEL, uniqueName } from './helpers.ts';

/** `docker logs -f` of a container, stopped by `cleanup`. */
export function follow(cleanup: Cleanup, name: string, role: string): LogBuffer {
  const followed = followDockerLogs(name);
  cleanup.defer(`stop docker logs -f (${role})`, followed.stop);
  return followed.logs;
}

/** Starts web and mailer; returns once the mailer has started, with the agent's --link arguments. */
export async function startBookPair(cleanup: Cleanup): Promise<{ web: string; mailer: string; mailerLogs: LogBuffer; links: string[] }> {
  const web = uniqueName('web');
  const mailer = uniqueName('mailer');
  cleanup.names(mailer, web);
  await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', web, IMAGES.nginx]);
  await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', mailer, IMAGES.mailer]);
  const mailerLogs = follow(cleanup, mailer, 'mailer');
  await mailerLogs.waitFor(MAILER_STARTED, 15_000);
  return { web, mailer, mailerLogs, links: ['--link', `${web}:insideweb`, '--link', `${mailer}:insidemailer`] };
}

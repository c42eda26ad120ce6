/**
 * `ch2-mailer healthcheck`: the image's HEALTHCHECK. It asks the running mailer
 * for /healthz. Docker runs it without the container's arguments, so it reads
 * them from PID 1 (the mailer) to find the port; env vars reach it anyway.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { HEALTH_PATH } from '../shared/wire-json.ts';

/** The arguments PID 1 was started with after its script, when PID 1 is a mailer. */
export function mailerArgsOfPid1(cmdlinePath = '/proc/1/cmdline'): string[] {
  try {
    const parts = readFileSync(cmdlinePath, 'utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    const script = parts.findIndex((p) => /mailer(\.mjs|\/main\.ts)$/.test(p));
    if (script < 0) return [];
    const args = parts.slice(script + 1);
    return args[0] === 'healthcheck' ? [] : args;
  } catch {
    return [];
  }
}

export function healthcheck(port: number, bind = '0.0.0.0', timeoutMs = 2000): Promise<number> {
  const host = bind === '0.0.0.0' || bind === '::' || bind === '' ? '127.0.0.1' : bind;
  return new Promise((resolve) => {
    const req = request({ host, port, path: HEALTH_PATH, timeout: timeoutMs }, (res) => {
      res.resume();
      process.stdout.write(`healthz: HTTP ${res.statusCode}\n`);
      resolve(res.statusCode === 200 ? 0 : 1);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (err) => {
      process.stdout.write(`healthz: ${err.message}\n`);
      resolve(1);
    });
    req.end();
  });
}

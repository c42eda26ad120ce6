/** `ch2-mailer healthcheck`: the image's HEALTHCHECK; asks the running mailer for /healthz. */
import { request } from 'node:http';
import { HEALTH_PATH } from '../shared/wire-json.ts';

export function healthcheck(port: number, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: HEALTH_PATH, timeout: timeoutMs }, (res) => {
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

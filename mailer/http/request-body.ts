/**
 * A request's body, bounded in size and time, for every POST the mailer takes
 * (alerts, reports, the page's forms). A body over its limit is a 413 and one
 * that is not in within three times --idle-timeout a 408. The rest of what the
 * sender is still sending is then read and thrown away, for --idle-timeout at
 * most: destroying the socket at once would reset the connection before a
 * sender that writes its whole body before it reads (most do) read its 413 (a
 * TCP reset discards what the peer had not read yet).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deadlines } from './deadlines.ts';
import { reply } from './reply.ts';

export interface BodyLimits {
  /** --idle-timeout (ms): the body has three times this; a refused sender has this to read its answer. */
  idleTimeoutMs: number;
  deadlines: Deadlines;
}

export type BodyReader = (req: IncomingMessage, res: ServerResponse, max: number) => Promise<Buffer | undefined>;

/** The body, at most `max` bytes, or undefined once a 413 or 408 has been answered (`refuse` told why). */
export async function readRequestBody(req: IncomingMessage, res: ServerResponse, max: number, limits: BodyLimits, refuse: (error: string) => void): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) {
    refuse(`body of ${declared} bytes is over the ${max}-byte limit`);
    refuseBody(req, res, 413, `body over the ${max}-byte limit`, limits);
    return undefined;
  }
  const body = await readBody(req, max, limits.idleTimeoutMs * 3, limits.deadlines);
  if (body === 'late') {
    refuse(`body not received within ${Math.round((limits.idleTimeoutMs * 3) / 1000)}s`);
    refuseBody(req, res, 408, 'body not received in time', limits);
    return undefined;
  }
  if (body === undefined) {
    refuse(`body over the ${max}-byte limit`);
    refuseBody(req, res, 413, `body over the ${max}-byte limit`, limits);
    return undefined;
  }
  return body;
}

/**
 * Answer, then read and throw away what the sender is still sending: once it has all come, the
 * connection serves the next request; if it has not come within --idle-timeout of the answer, the
 * connection is closed. (With `connection: close`, Node would close the socket as soon as the
 * answer is out, and the unread body turns that close into a reset.)
 */
function refuseBody(req: IncomingMessage, res: ServerResponse, status: 408 | 413, error: string, limits: BodyLimits): void {
  reply(res, status, { error });
  req.resume();
  if (req.complete) return;
  const socket = req.socket;
  res.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => socket.destroy(), limits.idleTimeoutMs);
    timer.unref();
    const stop = (): void => clearTimeout(timer);
    req.once('end', stop);
    socket.once('close', stop);
  });
}

/** The whole body; undefined once it passes `max` bytes; 'late' when not in within `deadlineMs`. */
function readBody(req: IncomingMessage, max: number, deadlineMs: number, deadlines: Deadlines): Promise<Buffer | undefined | 'late'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Given up on with the connection: a closed connection's body is never late.
    deadlines.readingBody(req, deadlineMs, resolve);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        deadlines.bodyDone(req);
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      deadlines.bodyDone(req);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); // most bodies come in one chunk
    });
    req.on('error', reject);
  });
}

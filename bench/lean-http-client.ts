/**
 * A lean HTTP/1.1 load generator for the intake benchmark: one kept-alive TCP
 * connection per sender, one request in flight on it, requests written as
 * prepared bytes and answers read just far enough (status line, headers,
 * content-length body). A general client (undici, fetch) costs the load
 * generator more CPU per request than the mailer spends answering it, and on
 * a 2-core machine that measures the generator, not the mailer.
 */
import { connect, type Socket } from 'node:net';

export class LeanConnection {
  readonly #socket: Socket;
  #buffer = '';
  #waiting: { resolve: (status: number) => void; reject: (err: Error) => void } | undefined;
  /** Resolves once connected. */
  readonly ready: Promise<void>;

  constructor(host: string, port: number) {
    this.#socket = connect({ host, port, noDelay: true });
    this.#socket.setEncoding('latin1');
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: string) => this.#read(chunk));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  /** POST a JSON body; resolves with the status code once the whole answer is in. */
  async post(host: string, path: string, json: string): Promise<number> {
    await this.ready;
    if (this.#waiting) throw new Error('one request at a time');
    if (this.#socket.destroyed) throw new Error('connection closed');
    const body = Buffer.from(json);
    return new Promise<number>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(`POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${json}`);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.#waiting) return;
    const head = this.#buffer.slice(0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    this.#buffer = this.#buffer.slice(end + 4 + length);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve(status);
  }

  #fail(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(err);
  }
}

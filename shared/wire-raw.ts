/**
 * The book's raw protocol: the agent opens TCP to the mailer, writes
 * `To: admin@work  Message: The service is down!` and closes. The message is
 * every byte until the sender closes.
 */
export const RAW_MAX_BYTES = 64 * 1024;

export interface RawMessage {
  to: string;
  message: string;
  /** The text as sent, trailing newlines removed (as the book's `$(nc -l)` does). */
  text: string;
}

export type RawParse = { ok: true; value: RawMessage } | { ok: false; error: string };

/** Encode an alert the way the book's agent does: two spaces before "Message:". */
export function encodeRaw(to: string, message: string): Buffer {
  if (/[\r\n]/.test(to)) throw new Error('recipient must not contain a line break');
  return Buffer.from(`To: ${to}  Message: ${message}`, 'utf8');
}

const RAW_PATTERN = /^To:[ \t]*([^\s]+)[ \t]+Message:[ \t]?([\s\S]*)$/;

/** Decode the bytes one raw sender sent before it closed. */
export function parseRaw(bytes: Buffer): RawParse {
  if (bytes.length === 0) return { ok: false, error: 'empty message' };
  if (bytes.length > RAW_MAX_BYTES) {
    return { ok: false, error: `message of ${bytes.length} bytes is over the ${RAW_MAX_BYTES}-byte limit` };
  }
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') || text.includes('\u0000')) {
    return { ok: false, error: 'message is not valid UTF-8 text' };
  }
  const trimmed = text.replace(/[\r\n]+$/, '');
  const match = RAW_PATTERN.exec(trimmed);
  if (!match) {
    return { ok: false, error: `not in the book's form "To: <address>  Message: <text>": ${preview(trimmed)}` };
  }
  const to = match[1] ?? '';
  const message = (match[2] ?? '').trim();
  if (message.length === 0) return { ok: false, error: 'message text is empty' };
  return { ok: true, value: { to, message, text: trimmed } };
}

/** A short, single-line, printable preview of untrusted text for log lines. */
export function preview(text: string, max = 80): string {
  const flat = oneLine(text);
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Escape control characters so untrusted text cannot forge extra log lines. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

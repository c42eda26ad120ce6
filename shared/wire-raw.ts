/**
 * The book's raw protocol: the agent opens TCP to the mailer, writes
 * `To: admin@work  Message: The service is down!` and closes. The message is
 * every byte until the sender closes. The recipient is one bare address
 * (shared/address.ts); anything else is refused with the reason.
 */
import { parseRecipient } from './address.ts';
import { preview } from './text.ts';

/** The mailer's default --max-bytes, for raw messages and JSON bodies alike. */
export const RAW_MAX_BYTES = 64 * 1024;

export interface RawMessage {
  to: string;
  message: string;
  /** The text as sent, trailing newlines removed (as the book's `$(nc -l)` does). */
  text: string;
}

export type RawParse = { ok: true; value: RawMessage } | { ok: false; error: string };

/** Encode an alert the way the book's agent does: two spaces before "Message:". Throws on a recipient that is not one address. */
export function encodeRaw(to: string, message: string): Buffer {
  const recipient = parseRecipient(to);
  if (!recipient.ok) throw new Error(recipient.error);
  return Buffer.from(`To: ${to}  Message: ${message}`, 'utf8');
}

/** "To:", the recipient (up to the first white space before "Message:"), "Message:", the text. */
const RAW_PATTERN = /^To:[ \t]*([^\r\n]*?)[ \t]+Message:[ \t]?([\s\S]*)$/;

/** Decode the bytes one raw sender sent before it closed; over `maxBytes` (--max-bytes) is refused. */
export function parseRaw(bytes: Buffer, maxBytes = RAW_MAX_BYTES): RawParse {
  if (bytes.length === 0) return { ok: false, error: 'empty message' };
  if (bytes.length > maxBytes) {
    return { ok: false, error: `message of ${bytes.length} bytes is over the ${maxBytes}-byte limit` };
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
  const recipient = parseRecipient(to);
  if (!recipient.ok) return { ok: false, error: `recipient ${preview(to, 120)} refused: ${recipient.error}` };
  const message = (match[2] ?? '').trim();
  if (message.length === 0) return { ok: false, error: 'message text is empty' };
  return { ok: true, value: { to, message, text: trimmed } };
}

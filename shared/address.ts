/**
 * The one recipient parser of both programs: a recipient is exactly one
 * mailbox, written as a bare address (`admin@work`). Used by the raw and JSON
 * parsers, the command lines and the mailer's allowlist, so they cannot
 * disagree about what an address is.
 *
 * The address goes to nodemailer as the e-mail's To and the SMTP RCPT TO, so
 * nodemailer's own addressparser must read it as that one address and nothing
 * else: lists (`a@work,b@evil`), groups (`g: a@work;`), display names
 * (`"x@work" <v@evil>`), comments, quoted local parts (`"v@evil"@work`), IP
 * literals and bare local parts are refused, each with a reason. The local
 * part is a dot-atom without `%` and `!` (the percent hack and bang paths route
 * mail onwards from the named host); the domain is host-name labels, compared
 * case-insensitively.
 */
import addressparser from 'nodemailer/lib/addressparser';

/** A parsed recipient: `address` as given, `domain` lower-cased for comparison. */
export interface Mailbox {
  address: string;
  local: string;
  domain: string;
}

export type AddressParse = { ok: true; value: Mailbox } | { ok: false; error: string };

const ADDRESS_MAX = 254;
const LOCAL_MAX = 64;
/** RFC 5322 atext without `%` and `!`, as dot-separated atoms. */
const LOCAL = /^[A-Za-z0-9#$&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9#$&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A domain: dot-separated host-name labels (a single label such as the book's `work` is fine). */
export function parseDomain(text: string): { ok: true; value: string } | { ok: false; error: string } {
  if (text.length === 0) return { ok: false, error: 'no domain after "@"' };
  if (text.length > 253) return { ok: false, error: 'domain longer than 253 characters' };
  if (text.startsWith('[')) return { ok: false, error: 'an IP-address literal is not accepted as a domain' };
  const domain = text.toLowerCase();
  for (const label of domain.split('.')) {
    if (!LABEL.test(label)) {
      return { ok: false, error: `domain ${JSON.stringify(text)} is not host-name labels (letters, digits, inner hyphens) separated by single dots` };
    }
  }
  return { ok: true, value: domain };
}

/** Results of recent parses: alerts name the same few recipients, and nodemailer's parser costs a few percent of the intake's CPU. */
const recent = new Map<string, AddressParse>();
const RECENT_MAX = 1024;

/** Why `text` is not one bare mailbox, or the mailbox. Never throws. The result is shared: do not change it. */
export function parseRecipient(text: string): AddressParse {
  const known = recent.get(text);
  if (known !== undefined) return known;
  const parsed = readRecipient(text);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  recent.set(text, parsed);
  return parsed;
}

function readRecipient(text: string): AddressParse {
  if (text.length === 0) return { ok: false, error: 'the recipient is empty' };
  if (text.length > ADDRESS_MAX) return { ok: false, error: `the recipient is longer than ${ADDRESS_MAX} characters` };
  if (/[\u0000-\u001f\u007f]/.test(text)) return { ok: false, error: 'the recipient holds a control character or line break' };
  if (/[^\x21-\x7e]/.test(text)) return { ok: false, error: 'the recipient holds a space or a non-ASCII character' };
  const at = text.lastIndexOf('@');
  if (at < 0) return { ok: false, error: 'the recipient has no "@domain" (a bare local part is not an address)' };
  const parsed = readAsNodemailer(text);
  if (parsed !== undefined) return { ok: false, error: parsed };
  const local = text.slice(0, at);
  if (local.includes('@')) return { ok: false, error: 'the recipient holds more than one "@"' };
  if (local.length === 0) return { ok: false, error: 'the recipient has nothing before "@"' };
  if (local.length > LOCAL_MAX) return { ok: false, error: `the part before "@" is longer than ${LOCAL_MAX} characters` };
  if (/[%!]/.test(local)) return { ok: false, error: 'the part before "@" holds "%" or "!", which route mail onwards to another host' };
  if (!LOCAL.test(local)) {
    return { ok: false, error: 'the part before "@" is not a plain dot-atom (no quotes, brackets, commas, colons or empty dot-parts)' };
  }
  const domain = parseDomain(text.slice(at + 1));
  if (!domain.ok) return domain;
  return { ok: true, value: { address: text, local, domain: domain.value } };
}

/**
 * What nodemailer would make of `text` as an address field: undefined when it
 * is exactly one address equal to `text`, otherwise why not.
 */
function readAsNodemailer(text: string): string | undefined {
  let entries: ReturnType<typeof addressparser>;
  try {
    entries = addressparser(text);
  } catch {
    return 'the recipient cannot be read as an address';
  }
  if (entries.length !== 1) return `the recipient is a list of ${entries.length} addresses; give exactly one`;
  const [entry] = entries;
  if (entry === undefined) return 'the recipient cannot be read as an address';
  if ('group' in entry) return 'the recipient is a group ("name: a@x, b@y;"); give exactly one address';
  if (entry.name !== '') return 'the recipient carries a display name, a comment or angle brackets; give only the address';
  if (entry.address !== text) return 'the recipient is not a bare address (angle brackets, quotes or comments)';
  return undefined;
}

/**
 * fast-check arbitraries for recipient fields an attacker would try, and the
 * independent oracle the property tests judge them by: what nodemailer (which
 * turns the field into To and RCPT TO) reads from it.
 */
import addressparser from 'nodemailer/lib/addressparser';
import fc from 'fast-check';

/** The allowlist the relay properties use: the issue's `--to admin@work,*@work`. */
export const ALLOW = ['admin@work', '*@work'] as const;

const FRAGMENTS = [
  'a', 'admin', 'victim', 'ADMIN', 'work', 'WORK', 'Work', 'evil', 'evil.example', 'work.evil', 'evil.work', 'x',
  '@', '@', '.', ',', ';', ':', '<', '>', '"', "'", '(', ')', '[', ']', '\\', '%', '!', '=?utf-8?q?', '?=',
  ' ', '  ', '\t', '\r\n', '\n', '\u0000', '\u00e9', '\u200b', 'Message:', 'To:', '1.2.3.4', '-',
];

/** Strings built from the pieces of address syntax, biased towards relay tricks. */
export const hostileRecipient: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 14 }).map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('', 'Bob ', '"admin@work" ', 'g: ', '"a,b" '), fc.emailAddress(), fc.constantFrom('', '>', ';', ',a@work', ' (c)', ' admin@work'))
    .map(([a, b, c]) => `${a}${a.startsWith('"admin') ? '<' : ''}${b}${c}`),
  fc.tuple(fc.emailAddress(), fc.constantFrom(',', ', ', ' ', ';'), fc.constantFrom('admin@work', 'a@work', 'x@WORK')).map(([a, s, b]) => `${a}${s}${b}`),
  fc.emailAddress(),
  fc.string({ maxLength: 40 }),
);

/** Every address nodemailer would send to for this field. */
export function nodemailerAddresses(field: string): string[] {
  return addressparser(field, { flatten: true }).map((a) => a.address);
}

/** The oracle: the field is exactly one address, admin@work or in the domain work (case-insensitive). */
export function onlyAllowed(field: string): boolean {
  const entries = addressparser(field);
  if (entries.length !== 1) return false;
  const [entry] = entries;
  if (entry === undefined || 'group' in entry || entry.name !== '' || entry.address !== field) return false;
  const at = field.lastIndexOf('@');
  if (at <= 0 || field.indexOf('@') !== at) return false;
  return field.slice(at + 1).toLowerCase() === 'work' && !/[\s%!"<>(),;:\\[\]]/.test(field);
}

/** Valid recipients: the generator's addresses that the parser accepts, and some on the allowlist. */
export const goodRecipient: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('admin@work', 'ops@work', 'Admin@Work', 'a.b+tag@mail.example.com'),
  fc.emailAddress().filter((a) => !/[%!]/.test(a) && a.length <= 254 && a.split('@')[0]!.length <= 64),
);

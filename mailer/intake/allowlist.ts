/**
 * Not an open relay: alerts go only to the configured recipients
 * (`--to admin@work,ops@work`, or `*@work` for a whole domain). A recipient is
 * read by the one address parser (shared/address.ts) and matched on what it
 * parsed to: the whole address, or exactly its domain (case-insensitive), so
 * `*@work` allows neither `x@evil.work` nor `x@work.evil`.
 */
import { parseDomain, parseRecipient } from '../../shared/address.ts';

export type AllowCheck = { ok: true } | { ok: false; error: string };

export class Allowlist {
  readonly #exact = new Set<string>();
  readonly #domains = new Set<string>();
  /**
   * The recipient of an alert that names none, and of the agent-silence alarms:
   * --default-to, else the first exact entry; none when the list has only `*@domain` entries.
   */
  readonly defaultRecipient: string | undefined;

  /**
   * `entries` as --to gives them (checked there): addresses and `*@domain`. Throws on one that is
   * neither, and on a `defaultTo` the entries do not allow.
   */
  constructor(entries: readonly string[], defaultTo?: string) {
    let first: string | undefined;
    for (const entry of entries) {
      if (entry.startsWith('*@')) {
        const domain = parseDomain(entry.slice(2));
        if (!domain.ok) throw new Error(`allowlist entry ${JSON.stringify(entry)}: ${domain.error}`);
        this.#domains.add(domain.value);
      } else {
        const mailbox = parseRecipient(entry);
        if (!mailbox.ok) throw new Error(`allowlist entry ${JSON.stringify(entry)}: ${mailbox.error}`);
        this.#exact.add(key(mailbox.value.local, mailbox.value.domain));
        first ??= entry;
      }
    }
    if (defaultTo !== undefined) {
      const allowed = this.check(defaultTo);
      if (!allowed.ok) throw new Error(`${JSON.stringify(defaultTo)} ${allowed.error}`);
    }
    this.defaultRecipient = defaultTo ?? first;
  }

  /** Whether alerts may go to `address`, and if not, why ("is not on the allowlist (--to)", "is refused: …"). */
  check(address: string): AllowCheck {
    const mailbox = parseRecipient(address);
    if (!mailbox.ok) return { ok: false, error: `is refused: ${mailbox.error}` };
    const { local, domain } = mailbox.value;
    if (this.#exact.has(key(local, domain)) || this.#domains.has(domain)) return { ok: true };
    return { ok: false, error: 'is not on the allowlist (--to)' };
  }
}

/** Local parts compared without case too, as every mail server in practice does. */
function key(local: string, domain: string): string {
  return `${local.toLowerCase()}@${domain}`;
}

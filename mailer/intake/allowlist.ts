/**
 * Not an open relay: alerts go only to the configured recipients
 * (`--to admin@work,ops@work`, or `*@work` for a whole domain).
 */
export class Allowlist {
  readonly #exact = new Set<string>();
  readonly #domains = new Set<string>();
  /** The recipient of an alert that names none: the first exact entry. */
  readonly defaultRecipient: string | undefined;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const lower = entry.toLowerCase();
      if (lower.startsWith('*@')) this.#domains.add(lower.slice(2));
      else this.#exact.add(lower);
    }
    this.defaultRecipient = entries.find((e) => !e.startsWith('*@'));
  }

  allows(address: string): boolean {
    const lower = address.toLowerCase();
    if (this.#exact.has(lower)) return true;
    const at = lower.lastIndexOf('@');
    return at > 0 && this.#domains.has(lower.slice(at + 1));
  }
}

/** A peer's address, one per host: an IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) as a.b.c.d. */
export function hostAddress(address: string | undefined): string {
  return (address ?? '?').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

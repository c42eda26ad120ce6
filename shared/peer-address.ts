/**
 * A peer's address, one per host: an IPv4 peer seen through an IPv6 socket
 * (::ffff:a.b.c.d) as a.b.c.d; whether it is loopback; the host part of a
 * logged "address:port" peer.
 */
export function hostAddress(address: string | undefined): string {
  return (address ?? '?').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string | undefined): boolean {
  const ip = hostAddress(address);
  return ip === '::1' || /^127\.\d+\.\d+\.\d+$/.test(ip);
}

/** The host of a peer as the logs write it (`address:port`, the port last). */
export function peerHost(peer: string): string {
  const colon = peer.lastIndexOf(':');
  return hostAddress(colon < 0 ? peer : peer.slice(0, colon));
}

/**
 * Docker's legacy links: `--link web:insideweb` gives the container
 * INSIDEWEB_PORT_80_TCP_ADDR and INSIDEWEB_PORT_80_TCP_PORT (and an /etc/hosts
 * entry). The book's agent reads these variables; so do we.
 */
export interface LinkEndpoint {
  host: string;
  port: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The endpoint of `alias`'s `port/tcp` from the link variables, if both are set. */
export function linkEndpoint(env: Env, alias: string, port: number): LinkEndpoint | undefined {
  const prefix = `${alias.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT_${port}_TCP`;
  const host = env[`${prefix}_ADDR`]?.trim();
  const portText = env[`${prefix}_PORT`]?.trim();
  if (!host || !portText) return undefined;
  const parsed = Number(portText);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) {
    throw new Error(`${prefix}_PORT is not a TCP port: ${JSON.stringify(portText)}`);
  }
  return { host, port: parsed };
}

/** "host:port", with brackets around an IPv6 address. */
export function hostPort(endpoint: LinkEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}

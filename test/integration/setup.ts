/**
 * Environment for testcontainers, set before it is first imported (helpers.ts
 * imports this module ahead of 'testcontainers'). No registry is reachable here,
 * so no Ryuk reaper: every test stops what it starts in after().
 */
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
// 127.0.0.1, not localhost: Docker gives a published port's IPv4 and IPv6 bindings different
// host ports, so [::1]:<the IPv4 port> can be another container's (a browser, or fetch, that
// tries ::1 first then reaches the wrong mailer: the status page test got another's 404).
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

export {};

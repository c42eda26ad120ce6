/**
 * Environment for testcontainers, set before it is first imported (helpers.ts
 * imports this module ahead of 'testcontainers'). No registry is reachable here,
 * so no Ryuk reaper: every test stops what it starts in after().
 */
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

export {};

/**
 * docker/compose.yaml as a file (test/integration/compose.test.ts runs it):
 * the agent and the mailer come back after a crash or an engine restart
 * (`restart: unless-stopped`, so a `stop` still stops them); the watched web
 * site has no restart policy, as the tutorial stops it to see the alert; the
 * mailer's 33333 is published on loopback only; the agent has a stable name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

const compose = parse(readFileSync(join(import.meta.dirname, '..', '..', 'docker', 'compose.yaml'), 'utf8')) as {
  services: Record<string, { restart?: string; ports?: string[]; environment?: Record<string, string>; hostname?: string }>;
};

/** A compose variable as docker-compose reads it: ${NAME-default} is the default while NAME is unset. */
const interpolate = (text: string, env: Record<string, string> = {}): string => text.replace(/\$\{(\w+)-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] ?? fallback);

test('compose: the agent and the mailer restart unless stopped; the watched web site does not', () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(compose.services).map(([name, service]) => [name, service.restart])),
    { web: undefined, mailer: 'unless-stopped', agent: 'unless-stopped' },
  );
});

test('compose: the mailer publishes 33333 on loopback only (another host port, or any, through CH2_MAILER_PORT); no other service publishes a port', () => {
  const { web, mailer, agent } = compose.services;
  assert.deepEqual(mailer!.ports?.map((p) => interpolate(p)), ['127.0.0.1:33333:33333']);
  assert.deepEqual(mailer!.ports?.map((p) => interpolate(p, { CH2_MAILER_PORT: '' })), ['127.0.0.1::33333'], 'set and empty: any free port');
  assert.equal(web!.ports, undefined);
  assert.equal(agent!.ports, undefined);
});

test('compose: the agent has a stable name in its reports (AGENT_NAME), not the container id the hostname would be', () => {
  assert.equal(compose.services.agent!.environment?.AGENT_NAME, 'agent');
});

/**
 * docker/compose.yaml as a file (test/integration/compose.test.ts runs it):
 * the agent and the mailer come back after a crash or an engine restart
 * (`restart: unless-stopped`, so a `stop` still stops them); the watched web
 * site has no restart policy, as the tutorial stops it to see the alert.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

const compose = parse(readFileSync(join(import.meta.dirname, '..', '..', 'docker', 'compose.yaml'), 'utf8')) as { services: Record<string, { restart?: string }> };

test('compose: the agent and the mailer restart unless stopped; the watched web site does not', () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(compose.services).map(([name, service]) => [name, service.restart])),
    { web: undefined, mailer: 'unless-stopped', agent: 'unless-stopped' },
  );
});

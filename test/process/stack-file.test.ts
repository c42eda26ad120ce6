/**
 * docker/stack.yaml, the Swarm stack, checked without an engine: the services and their
 * replicas, every secret through a *_FILE variable naming a Docker secret the service mounts
 * (no secret in an env var), a virtual IP for the mailers only (dnsrr elsewhere), the agents' shard
 * from their slot, restart and update policies,
 * healthchecks, the files the secrets and the config name (the demo store URL naming the
 * demo Postgres password, user and database), the agents' config file as the agent reads it,
 * and `docker stack config` rendering the file with its variables (when the docker CLI has
 * that command: Docker 23 and later). test/integration/stack.test.ts deploys it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfigFile } from '../../agent/config-file.ts';
import { DEFAULT_SETTINGS } from '../../agent/target.ts';
import { ROOT } from '../support/readme.ts';

const STACK = join(ROOT, 'docker/stack.yaml');

interface Service {
  image: string;
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string; target?: string }>;
  configs?: Array<{ source: string; target: string }>;
  healthcheck?: { test: string[] };
  ports?: Array<{ target: number; published: string | number; mode?: string }>;
  deploy: {
    replicas: number;
    restart_policy?: { condition: string };
    update_config?: { order?: string; failure_action?: string; parallelism?: number };
  };
}
interface StackFile {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  configs: Record<string, { file: string }>;
}

const stack = parse(readFileSync(STACK, 'utf8')) as StackFile;
const svc = (name: string): Service => {
  const s = stack.services[name];
  assert.ok(s, `no service ${name}`);
  return s;
};
/** ${VAR:-default} with VAR unset, as docker stack deploy replaces it. */
const withDefaults = (text: string): string => text.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
const fileOf = (kind: 'secrets' | 'configs', name: string): string => {
  const entry = stack[kind][name];
  assert.ok(entry, `no ${kind} ${name}`);
  return join(dirname(STACK), withDefaults(entry.file));
};
const mounted = (s: Service): string[] => (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));

test('the services: postgres, 2 mailers, 3 agents and the tutorial nginx, on the images the project builds', () => {
  assert.deepEqual(Object.keys(stack.services).sort(), ['agent', 'mailer', 'postgres', 'web']);
  assert.deepEqual(Object.fromEntries(Object.entries(stack.services).map(([n, s]) => [n, s.deploy.replicas])), { postgres: 1, mailer: 2, agent: 3, web: 1 });
  assert.equal(withDefaults(svc('mailer').image), 'ch2/mailer:latest');
  assert.equal(withDefaults(svc('agent').image), 'ch2/agent:latest');
  assert.equal(svc('postgres').image, 'postgres:15');
  assert.equal(svc('web').image, 'nginx:latest');
  const [port] = svc('mailer').ports ?? [];
  assert.equal(port?.target, 33333);
  assert.equal(withDefaults(String(port?.published)), '33333');
});

test('only the mailers have a virtual IP (and the routing mesh): the other services dnsrr, which needs no IPVS', () => {
  for (const [name, s] of Object.entries(stack.services)) {
    const mode = (s.deploy as { endpoint_mode?: string }).endpoint_mode;
    if (name === 'mailer') assert.equal(mode, 'vip', 'the mailers: the agents\' mailer:33333 and the published port spread over the replicas');
    else assert.equal(mode, 'dnsrr', `${name}: reached by name only inside the stack`);
  }
  assert.equal(svc('mailer').ports?.[0]?.mode, 'ingress');
});

test('every secret through *_FILE, naming a Docker secret the service mounts; no secret value in an env var', () => {
  const secretVars = /^(MAILER_TOKEN|STORE_URL|SMTP_URL|NOTIFY_URLS|WEBHOOK_URL|WEBHOOK_TOKEN|SLACK_WEBHOOK_URL|DISCORD_WEBHOOK_URL|POSTGRES_PASSWORD)$/;
  for (const [name, s] of Object.entries(stack.services)) {
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      assert.doesNotMatch(key, secretVars, `${name}: ${key} holds a secret in the environment; use ${key}_FILE`);
      if (key.endsWith('_FILE') && secretVars.test(key.slice(0, -'_FILE'.length))) {
        const m = /^\/run\/secrets\/(.+)$/.exec(value);
        assert.ok(m, `${name}: ${key}=${value} is not a Docker secret's path`);
        assert.ok(mounted(s).includes(m[1]!), `${name}: ${key} names the secret ${m[1]}, which the service does not mount`);
      }
    }
  }
  assert.equal(svc('mailer').environment?.STORE_URL_FILE, '/run/secrets/store_url');
  assert.equal(svc('mailer').environment?.MAILER_TOKEN_FILE, '/run/secrets/mailer_token');
  assert.equal(svc('agent').environment?.MAILER_TOKEN_FILE, '/run/secrets/mailer_token');
  assert.equal(svc('postgres').environment?.POSTGRES_PASSWORD_FILE, '/run/secrets/postgres_password');
});

test("the demo secrets: files beside the stack, the store URL naming the demo Postgres's password, user, database and service", () => {
  for (const name of Object.keys(stack.secrets)) assert.ok(existsSync(fileOf('secrets', name)), `secret ${name}: no file ${fileOf('secrets', name)}`);
  for (const name of Object.keys(stack.configs)) assert.ok(existsSync(fileOf('configs', name)), `config ${name}: no file ${fileOf('configs', name)}`);
  const read = (name: string): string => readFileSync(fileOf('secrets', name), 'utf8').replace(/[\r\n]+$/, '');
  const url = new URL(read('store_url'));
  const pg = svc('postgres').environment!;
  assert.equal(url.protocol, 'postgres:');
  assert.equal(url.hostname, 'postgres', 'the stack service postgres');
  assert.equal(decodeURIComponent(url.password), read('postgres_password'), 'the demo store URL has the demo Postgres password');
  assert.equal(url.username, pg.POSTGRES_USER);
  assert.equal(url.pathname, `/${pg.POSTGRES_DB}`);
  assert.ok(read('mailer_token').length >= 16, 'a token of 16+ characters, as --token wants');
  assert.match(read('mailer_token'), /replace-me/, 'the demo token says it is one');
});

test('the agents: shard from their slot ({{.Task.Slot}}/replicas), named by it, the config file as the agent reads it', async () => {
  const agent = svc('agent');
  const env = agent.environment!;
  assert.equal(env.SHARD, `{{.Task.Slot}}/${agent.deploy.replicas}`);
  assert.match(env.AGENT_NAME ?? '', /\{\{\.Task\.Slot\}\}/);
  assert.equal(env.MAILER_URL, 'mailer:33333');
  const config = agent.configs?.find((c) => c.target === env.CONFIG_FILE);
  assert.ok(config, `CONFIG_FILE ${env.CONFIG_FILE} is no config the service mounts`);
  const targets = await loadConfigFile(fileOf('configs', config.source), DEFAULT_SETTINGS, {});
  assert.ok(targets.length >= 2 * agent.deploy.replicas, `${targets.length} targets: enough for each replica to have some`);
  for (const t of targets) {
    const host = new URL(t.url).hostname;
    assert.ok(host in stack.services, `target ${t.name} (${t.url}) is not a service of the stack`);
  }
});

test('restart and update policies on every service, healthchecks on every one (the mailer: its image\'s)', () => {
  for (const [name, s] of Object.entries(stack.services)) {
    assert.equal(s.deploy.restart_policy?.condition, 'any', `${name}: restart_policy`);
    if (name !== 'web') assert.equal(s.deploy.update_config?.failure_action, 'rollback', `${name}: update_config`);
    if (name === 'mailer') assert.match(readFileSync(join(ROOT, 'docker/mailer.Dockerfile'), 'utf8'), /^HEALTHCHECK /m);
    else assert.ok(s.healthcheck?.test.length, `${name}: healthcheck`);
  }
  assert.equal(svc('postgres').deploy.update_config?.order, 'stop-first', 'never two servers on one data folder');
  assert.equal(svc('mailer').deploy.update_config?.order, 'start-first');
  const agentCheck = svc('agent').healthcheck!.test.join(' ');
  assert.ok(agentCheck.includes(`:${svc('agent').environment!.METRICS_PORT}/healthz`), `the agent's healthcheck asks its metrics port: ${agentCheck}`);
});

test('docker stack config renders it: CH2_IMAGE_TAG, CH2_REGISTRY, CH2_MAILER_PORT and CH2_SECRETS, or their defaults', (t) => {
  const env = { ...process.env, CH2_IMAGE_TAG: 'x1', CH2_MAILER_PORT: '34444', CH2_REGISTRY: 'registry.example:5000/', CH2_SECRETS: '/etc/ch2-secrets' };
  const r = spawnSync('docker', ['stack', 'config', '-c', STACK], { encoding: 'utf8', timeout: 30_000, env });
  if (r.error || /unknown command|is not a docker command|Usage:\s+docker stack \[OPTIONS\] COMMAND/.test(`${r.stderr}${r.stdout}`)) {
    t.skip(`this docker CLI has no "docker stack config" (${r.error?.message ?? r.stderr.trim().split('\n')[0]})`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const rendered = parse(r.stdout) as StackFile;
  assert.equal(rendered.services.mailer!.image, 'registry.example:5000/ch2/mailer:x1');
  assert.equal(rendered.services.agent!.image, 'registry.example:5000/ch2/agent:x1');
  assert.equal(Number(rendered.services.mailer!.ports![0]!.published), 34444);
  assert.equal(rendered.secrets.store_url!.file, '/etc/ch2-secrets/store-url');
  assert.equal(rendered.configs.agent_config!.file, join(ROOT, 'docker/stack/agent.yaml'));
  const plain = spawnSync('docker', ['stack', 'config', '-c', STACK], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CH2_IMAGE_TAG: '', CH2_REGISTRY: '', CH2_SECRETS: '', CH2_MAILER_PORT: '' } });
  assert.equal(plain.status, 0, plain.stderr);
  const defaults = parse(plain.stdout) as StackFile;
  assert.equal(defaults.services.mailer!.image, 'ch2/mailer:latest');
  assert.equal(defaults.secrets.store_url!.file, join(ROOT, 'docker/stack/demo-secrets/store-url'), 'without CH2_SECRETS, the demo secrets');
});

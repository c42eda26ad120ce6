/**
 * Docker Swarm for the tests (stack.test.ts): a single-node swarm (made when the engine is
 * in none, and left in teardown only then), and a stack deployed from compose files with
 * `docker stack deploy`: its task containers, which are healthy, where the host reaches
 * its published ports, and its removal (containers, network, volumes: only its own).
 *
 * Swarm's virtual IPs and routing mesh need the kernel's IPVS. On a kernel without it
 * (kernelHasIpvs() false) `deploy` rewrites what `docker stack config` renders from the
 * files: the services that publish ports get `endpoint_mode: dnsrr` and their ports
 * `mode: host` on a free host port each (README "Docker Swarm", "A kernel without IPVS").
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { type Cleanup, docker, dockerOk, run, waitUntil } from './helpers.ts';

/** Whether this kernel has IPVS (built in, loaded, or a module to load). */
export function kernelHasIpvs(): boolean {
  if (existsSync('/proc/net/ip_vs')) return true;
  for (const list of ['modules.builtin', 'modules.dep']) {
    try {
      if (/\/ip_vs\.ko/.test(readFileSync(`/lib/modules/${release()}/${list}`, 'utf8'))) return true;
    } catch {
      // no such list
    }
  }
  return false;
}

/**
 * Make this engine a swarm manager: `docker swarm init` on 127.0.0.1 when it is in no swarm
 * (then `docker swarm leave --force` in cleanup, and docker_gwbridge removed if init made it);
 * a swarm it is already a manager of is used and left alone. Returns whether it made one.
 */
export async function joinSwarm(cleanup: Cleanup): Promise<boolean> {
  const state = (await dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])).stdout.trim();
  if (!state.startsWith('inactive')) {
    assert.match(state, /^active true$/, `this engine is in a swarm but not a manager (${state}): docker stack deploy needs one`);
    return false;
  }
  const hadGwbridge = (await docker(['network', 'inspect', 'docker_gwbridge'])).code === 0;
  const init = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377']);
  if (init.code !== 0) {
    if (/already part of a swarm/.test(init.stderr)) return false; // made meanwhile by someone else
    throw new Error(`docker swarm init failed: ${init.stderr.trim()}`);
  }
  cleanup.defer('docker swarm leave --force (the swarm this test made)', async () => {
    const r = await docker(['swarm', 'leave', '--force'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(r.stderr.trim());
    // Right after the leave the bridge may still hold an endpoint: try for a while. Docker 20.10
    // sometimes keeps a stale one for good (the bridge then stays, empty, and the next init reuses it).
    if (!hadGwbridge) {
      await waitUntil('docker network rm docker_gwbridge (made by swarm init; it may keep a stale endpoint)', async () => {
        const rm = await docker(['network', 'rm', 'docker_gwbridge']);
        return rm.code === 0 || /not found|No such network/i.test(rm.stderr) ? true : undefined;
      }, 10_000, 250);
    }
  });
  return true;
}

/** One task container of a stack, as `docker ps -a` lists it. */
export interface Task {
  id: string;
  /** The service's name without the stack's prefix. */
  service: string;
  slot: string;
  /** `Up 3 seconds (healthy)`, `Exited (2) 1 second ago`, … */
  status: string;
}

type Rendered = { services: Record<string, { deploy?: Record<string, unknown>; ports?: Array<Record<string, unknown>> }> };

export class Stack {
  readonly name: string;
  readonly mesh = kernelHasIpvs();
  /** Compose files from the repository root. */
  readonly #root: string;

  constructor(name: string, root: string) {
    this.name = name;
    this.#root = root;
  }

  /**
   * `docker stack deploy -c <file>… <name>` from the repository root, the files' ${VARS} from
   * `env`; without IPVS, what `docker stack config` renders of them with `published`'s services
   * in dnsrr and mode host. Removed (remove()) by cleanup.
   */
  async deploy(files: string[], env: Record<string, string>, cleanup: Cleanup): Promise<void> {
    let args = files.flatMap((f) => ['-c', f]);
    if (!this.mesh) {
      const rendered = await run('docker', ['stack', 'config', ...args], { cwd: this.#root, env });
      assert.equal(rendered.code, 0, `no IPVS in this kernel: the test rewrites what \`docker stack config\` renders (Docker CLI 23+), which failed: ${rendered.stderr.trim()}`);
      const doc = parse(rendered.stdout) as Rendered;
      for (const service of Object.values(doc.services).filter((s) => (s.ports ?? []).length > 0)) {
        service.deploy = { ...service.deploy, endpoint_mode: 'dnsrr' };
        for (const port of service.ports ?? []) {
          port.mode = 'host';
          delete port.published;
        }
      }
      const dir = mkdtempSync(join(tmpdir(), 'ch2-stack-'));
      cleanup.defer(`rm -r ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'stack.yaml'), stringify(doc));
      args = ['-c', join(dir, 'stack.yaml')];
    }
    cleanup.defer(`docker stack rm ${this.name}`, () => this.remove());
    const deploy = await run('docker', ['stack', 'deploy', ...args, this.name], { cwd: this.#root, timeoutMs: 60_000, env });
    assert.equal(deploy.code, 0, `docker stack deploy failed:\n${deploy.stderr}${deploy.stdout}`);
  }

  /** The stack's task containers, running and exited. */
  async tasks(): Promise<Task[]> {
    const r = await dockerOk(['ps', '-a', '--no-trunc', '--filter', `label=com.docker.stack.namespace=${this.name}`,
      '--format', '{{.ID}}\t{{.Label "com.docker.swarm.service.name"}}\t{{.Label "com.docker.swarm.task.name"}}\t{{.Status}}']);
    return r.stdout.trim().split('\n').filter(Boolean).map((line) => {
      const [id, service, taskName, status] = line.split('\t') as [string, string, string, string];
      return { id, service: service.slice(this.name.length + 1), slot: taskName.split('.')[1] ?? '', status };
    });
  }

  /** Its healthy tasks of `service` (every service of the stack has a healthcheck). */
  static healthy(all: Task[], service: string): Task[] {
    return all.filter((t) => t.service === service && /^Up .*\(healthy\)/.test(t.status));
  }

  /**
   * Where the host reaches `service`'s container port `port`: with the mesh, the published
   * `meshPort` (which spreads connections itself); else each healthy task's own host port.
   */
  async entrances(service: string, port: number, meshPort: number): Promise<Array<{ url: string; task?: Task }>> {
    if (this.mesh) return [{ url: `http://127.0.0.1:${meshPort}` }];
    const found: Array<{ url: string; task: Task }> = [];
    for (const task of Stack.healthy(await this.tasks(), service)) {
      const hostPort = /^0\.0\.0\.0:(\d+)$/m.exec((await docker(['port', task.id, `${port}/tcp`])).stdout)?.[1];
      if (hostPort) found.push({ url: `http://127.0.0.1:${hostPort}`, task });
    }
    return found;
  }

  /** docker stack rm, then wait until its containers and networks are gone; then remove its volumes (and only its). */
  async remove(): Promise<void> {
    const label = `label=com.docker.stack.namespace=${this.name}`;
    const volumes = new Set<string>();
    // The volumes of its containers (the mailers' store folders are anonymous ones), before they go.
    const collect = async (): Promise<void> => {
      const ids = (await docker(['ps', '-aq', '--filter', label])).stdout.split('\n').filter(Boolean);
      if (ids.length === 0) return;
      const r = await docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids]);
      for (const v of r.stdout.split(/\s+/).filter(Boolean)) volumes.add(v);
    };
    await collect();
    const rm = await docker(['stack', 'rm', this.name], { timeoutMs: 60_000 });
    if (rm.code !== 0 && !/Nothing found in stack/.test(rm.stderr)) throw new Error(`docker stack rm ${this.name}: ${rm.stderr.trim()}`);
    await waitUntil(`the containers and networks of stack ${this.name} to be gone`, async () => {
      await collect();
      const containers = (await docker(['ps', '-aq', '--filter', label])).stdout.trim();
      const networks = (await docker(['network', 'ls', '-q', '--filter', label])).stdout.trim();
      return containers === '' && networks === '' ? true : undefined;
    }, 60_000, 500);
    for (const v of (await docker(['volume', 'ls', '-q', '--filter', label])).stdout.split('\n').filter(Boolean)) volumes.add(v);
    if (volumes.size > 0) await docker(['volume', 'rm', ...volumes]);
  }
}

/**
 * docker/k8s, the kustomization, rendered offline by `kubectl kustomize` (the base, and the
 * overlay with an example Postgres, and the one with components/tls) and checked without a cluster: every object against
 * Kubernetes' schemas (kubernetes-models) with unknown fields refused
 * (test/support/k8s-schema.ts), every pod locked down as the restricted Pod Security
 * Standard asks, the agents' shard from their pod index, the mailers' probes on /healthz,
 * secrets as files, the network policies. No cluster runs it here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkObject, schemaAccepts } from '../support/k8s-schema.ts';
import { ROOT } from '../support/readme.ts';

type K8s = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; stringData?: Record<string, string> };

function render(dir: string): K8s[] {
  const run = spawnSync('kubectl', ['kustomize', join(ROOT, dir)], { encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw new Error(`kubectl kustomize ${dir}: ${run.error.message} (kubectl 1.28+ must be on PATH)`);
  assert.equal(run.status, 0, `kubectl kustomize ${dir} failed: ${run.stderr}`);
  return parseAllDocuments(run.stdout).map((doc) => doc.toJS() as K8s);
}

const base = render('docker/k8s');
const withPostgres = render('docker/k8s/overlays/with-postgres');
const tls = render('docker/k8s/overlays/tls');
const renders = { 'docker/k8s': base, 'docker/k8s/overlays/with-postgres': withPostgres, 'docker/k8s/overlays/tls': tls };

const find = (objects: K8s[], kind: string, name: string): K8s => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `no ${kind}/${name}`);
  return object;
};
const workloads = (objects: K8s[]): K8s[] => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const containersOf = (w: K8s): any[] => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];
const env = (container: any, name: string): any => container.env?.find((e: any) => e.name === name);
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The uid of the images' user, from the file they copy into /etc/passwd, and what mailer.Dockerfile says. */
const NODE_UID = Number(/^node:x:(\d+):/m.exec(readFileSync(join(ROOT, 'docker', 'runtime', 'passwd'), 'utf8'))?.[1]);
const MAILER_DOCKERFILE = readFileSync(join(ROOT, 'docker', 'mailer.Dockerfile'), 'utf8');
const STORE_VOLUME = /^VOLUME (\S+)$/m.exec(MAILER_DOCKERFILE)?.[1];
const MAILER_PORT = Number(/^EXPOSE (\d+)$/m.exec(MAILER_DOCKERFILE)?.[1]);
/** The image's user per image: ch2's is node; postgres:15 runs as postgres, 999. */
const IMAGE_UID: Record<string, number> = { 'ch2/agent:latest': NODE_UID, 'ch2/mailer:latest': NODE_UID, 'postgres:15': 999 };

test('kustomize renders the base and the overlays: the objects the README names, all in the namespace ch2', () => {
  const names = (objects: K8s[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  const baseNames = ['ConfigMap/ch2-agent-config', 'Deployment/mailer', 'Namespace/ch2', 'NetworkPolicy/default-deny-ingress', 'NetworkPolicy/mailer-egress', 'NetworkPolicy/mailer-ingress', 'PodDisruptionBudget/mailer', 'Secret/ch2', 'Service/agent', 'Service/mailer', 'StatefulSet/agent'];
  assert.deepEqual(names(base), baseNames);
  assert.deepEqual(names(withPostgres), [...baseNames, 'NetworkPolicy/postgres-ingress', 'Secret/postgres', 'Service/postgres', 'StatefulSet/postgres'].sort());
  assert.deepEqual(names(tls), baseNames);
  for (const o of withPostgres.filter((o) => o.kind !== 'Namespace')) assert.equal(o.metadata.namespace, 'ch2', `${o.kind}/${o.metadata.name}`);
  assert.equal(find(base, 'Namespace', 'ch2').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
});

test("every object validates against Kubernetes' schemas, with no field they do not know", async () => {
  const problems: string[] = [];
  for (const [dir, objects] of Object.entries(renders)) {
    for (const object of objects) {
      const { schema, unknown } = await checkObject(object);
      for (const p of schema) problems.push(`${dir} ${object.kind}/${object.metadata.name}: ${p}`);
      for (const p of unknown) problems.push(`${dir} ${object.kind}/${object.metadata.name}: unknown field ${p}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the unknown-field check refuses misspelt fields that the schema alone lets through (containres, readOnlyRootFileSystem)', async () => {
  const mailer = find(base, 'Deployment', 'mailer');
  const extra = structuredClone(mailer);
  extra.spec.template.spec.containres = extra.spec.template.spec.containers;
  const misspelt = structuredClone(mailer);
  const sc = misspelt.spec.template.spec.containers[0].securityContext;
  sc.readOnlyRootFileSystem = sc.readOnlyRootFilesystem;
  delete sc.readOnlyRootFilesystem;
  assert.equal(await schemaAccepts(extra), true, "kubernetes-models' schema lets an unknown field through");
  assert.equal(await schemaAccepts(misspelt), true);
  assert.deepEqual(await checkObject(extra), { schema: [], unknown: ['spec.template.spec.containres'] });
  assert.deepEqual(await checkObject(misspelt), { schema: [], unknown: ['spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem'] });
  const renamed = structuredClone(mailer);
  renamed.spec.template.spec.containres = renamed.spec.template.spec.containers;
  delete renamed.spec.template.spec.containers;
  const checked = await checkObject(renamed);
  assert.deepEqual(checked.unknown, ['spec.template.spec.containres']);
  assert.match(checked.schema.join('\n'), /required \{"missingProperty":"containers"\}/);
  const wrongType = structuredClone(mailer);
  wrongType.spec.replicas = 'two';
  assert.match((await checkObject(wrongType)).schema.join('\n'), /^\/spec\/replicas: type/m);
});

test("every pod: the image's user, non-root, read-only root, no capability, no escalation, seccomp RuntimeDefault, requests and limits", () => {
  assert.equal(NODE_UID, 1000);
  for (const w of Object.values(renders).flatMap(workloads)) {
    const pod = w.spec.template.spec;
    const where = `${w.kind}/${w.metadata.name}`;
    assert.equal(pod.automountServiceAccountToken, false, `${where}: no API token in the pod`);
    assert.equal(pod.enableServiceLinks, false, `${where}: no Service env vars`);
    for (const c of containersOf(w)) {
      const at = `${where} ${c.name}`;
      const own = c.securityContext ?? {};
      const effective = { ...pod.securityContext, ...own };
      assert.equal(effective.runAsNonRoot, true, at);
      assert.equal(effective.runAsUser, IMAGE_UID[c.image], `${at}: the user of ${c.image}`);
      assert.equal(effective.seccompProfile?.type, 'RuntimeDefault', at);
      assert.equal(own.readOnlyRootFilesystem, true, at);
      assert.equal(own.allowPrivilegeEscalation, false, at);
      assert.deepEqual(own.capabilities, { drop: ['ALL'] }, at);
      assert.equal(own.privileged, undefined, at);
      for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r], `${at}: resources.${kind}.${r}`);
    }
  }
});

test("what a pod writes is on a volume: /tmp everywhere, the mailer's store folder (the image's VOLUME), Postgres' data and socket", () => {
  const mounts = (w: K8s): Record<string, any> => {
    const volumes = Object.fromEntries(w.spec.template.spec.volumes.map((v: any) => [v.name, v]));
    const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((c: any) => c.metadata.name));
    return Object.fromEntries(containersOf(w)[0].volumeMounts.map((m: any) => [m.mountPath, claims.has(m.name) ? 'claim' : Object.keys(volumes[m.name]).find((k) => k !== 'name')]));
  };
  for (const w of workloads(withPostgres)) assert.equal(mounts(w)['/tmp'], 'emptyDir', `${w.kind}/${w.metadata.name}`);
  assert.equal(STORE_VOLUME, '/var/lib/ch2-mailer');
  assert.equal(mounts(find(base, 'Deployment', 'mailer'))[STORE_VOLUME], 'emptyDir');
  const postgres = find(withPostgres, 'StatefulSet', 'postgres');
  assert.equal(mounts(postgres)['/var/lib/postgresql/data'], 'claim');
  assert.equal(mounts(postgres)['/var/run/postgresql'], 'emptyDir');
  assert.match(env(containersOf(postgres)[0], 'PGDATA').value, /^\/var\/lib\/postgresql\/data\/.+/, 'PGDATA below the claim, beside lost+found');
});

test("the agents: a StatefulSet of 3 whose pods' SHARD comes from their pod index, slots 1/3, 2/3, 3/3; alive by their metrics server's /healthz", () => {
  const agent = find(base, 'StatefulSet', 'agent');
  const replicas: number = agent.spec.replicas;
  assert.equal(replicas, 3);
  const container = containersOf(agent)[0];
  const names = container.env.map((e: any) => e.name);
  assert.deepEqual(env(container, 'POD_INDEX').valueFrom, { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } });
  assert.ok(names.indexOf('POD_INDEX') < names.indexOf('SHARD'), 'POD_INDEX defined before SHARD, so that $(POD_INDEX) expands');
  // The pod-index label is a pod's ordinal, from spec.ordinals.start; Kubernetes expands $(NAME) of an earlier env var.
  const start: number = agent.spec.ordinals?.start ?? 0;
  const shards = Array.from({ length: replicas }, (_, i) => env(container, 'SHARD').value.replace(/\$\(POD_INDEX\)/g, String(start + i)));
  assert.deepEqual(shards, ['1/3', '2/3', '3/3']);
  assert.deepEqual(env(container, 'AGENT_NAME').valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.equal(env(container, 'MAILER_URL').value, `${find(base, 'Service', 'mailer').metadata.name}:${MAILER_PORT}`);
  const config = container.volumeMounts.find((m: any) => m.name === 'config');
  const volume = agent.spec.template.spec.volumes.find((v: any) => v.name === 'config');
  assert.ok(Object.hasOwn((find(base, 'ConfigMap', volume.configMap.name) as any).data, env(container, 'CONFIG_FILE').value.slice(config.mountPath.length + 1)), 'CONFIG_FILE is a key of the mounted ConfigMap');
  const metrics = container.ports.find((p: any) => p.name === container.livenessProbe.httpGet.port);
  assert.deepEqual([container.livenessProbe.httpGet.path, String(metrics?.containerPort)], ['/healthz', env(container, 'METRICS_PORT').value], 'alive by /healthz of its metrics server');
  const headless = find(base, 'Service', agent.spec.serviceName);
  assert.equal(headless.spec.clusterIP, 'None');
});

test('the mailers: a Deployment of 2, ready and alive by GET /healthz on 33333, a PodDisruptionBudget keeping one, the Service on 33333', () => {
  const mailer = find(base, 'Deployment', 'mailer');
  assert.equal(mailer.spec.replicas, 2);
  const container = containersOf(mailer)[0];
  const port = (p: string | number): number => (typeof p === 'number' ? p : container.ports.find((c: any) => c.name === p).containerPort);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    assert.equal(container[probe]?.httpGet?.path, '/healthz', probe);
    assert.equal(port(container[probe].httpGet.port), MAILER_PORT, probe);
  }
  assert.equal(find(base, 'PodDisruptionBudget', 'mailer').spec.minAvailable, 1);
  const service = find(base, 'Service', 'mailer');
  assert.deepEqual(service.spec.ports.map((p: any) => [p.port, port(p.targetPort)]), [[MAILER_PORT, MAILER_PORT]]);
  assert.equal(env(container, 'STORE_URL_FILE').value, '/run/secrets/ch2/store-url');
});

test('secrets reach the pods as files only: every *_FILE (but CONFIG_FILE) is a key of a mounted Secret, marked as demo values to replace', () => {
  for (const objects of Object.values(renders)) {
    for (const w of workloads(objects)) {
      for (const c of containersOf(w)) {
        for (const e of c.env ?? []) {
          assert.doesNotMatch(e.name, /^(MAILER_TOKEN|STORE_URL|SMTP_URL|NOTIFY_URLS|POSTGRES_PASSWORD)$/, `${w.metadata.name}: ${e.name} as a plain env var`);
          if (!e.name.endsWith('_FILE') || e.name === 'CONFIG_FILE') continue;
          const mount = c.volumeMounts.find((m: any) => e.value.startsWith(`${m.mountPath}/`));
          const volume = w.spec.template.spec.volumes.find((v: any) => v.name === mount?.name);
          assert.ok(volume?.secret, `${w.metadata.name}: ${e.name} under a Secret's mount`);
          const file = e.value.slice(mount.mountPath.length + 1);
          const key = volume.secret.items ? volume.secret.items.find((i: any) => i.path === file)?.key : file;
          assert.ok(Object.hasOwn(find(objects, 'Secret', volume.secret.secretName).stringData ?? {}, key), `${w.metadata.name}: ${e.name} names key ${key}`);
        }
      }
    }
  }
  for (const s of withPostgres.filter((o) => o.kind === 'Secret')) assert.equal(s.metadata.annotations?.['ch2/demo-values'], 'replace before use', s.metadata.name);
});

test("the overlay's Postgres: postgres:15 with POSTGRES_PASSWORD_FILE on a PVC template, at the host, port, user, database and password of the base's store-url", () => {
  const postgres = find(withPostgres, 'StatefulSet', 'postgres');
  const container = containersOf(postgres)[0];
  assert.equal(container.image, 'postgres:15');
  assert.equal(env(container, 'POSTGRES_PASSWORD_FILE').value, '/run/secrets/postgres/password');
  assert.deepEqual(postgres.spec.volumeClaimTemplates.map((c: any) => [c.metadata.name, c.spec.resources.requests.storage]), [['data', '1Gi']]);
  const url = new URL(find(withPostgres, 'Secret', 'ch2').stringData!['store-url']!);
  assert.equal(url.protocol, 'postgres:');
  assert.equal(url.hostname, find(withPostgres, 'Service', 'postgres').metadata.name);
  assert.equal(Number(url.port), containersOf(postgres)[0].ports[0].containerPort);
  assert.equal(decodeURIComponent(url.username), env(container, 'POSTGRES_USER').value);
  assert.equal(url.pathname, `/${env(container, 'POSTGRES_DB').value}`);
  assert.equal(decodeURIComponent(url.password), find(withPostgres, 'Secret', 'postgres').stringData!.password);
});

test('network policies: nothing in but agents to the mailers on 33333 and mailers to Postgres on 5432; mailers out to DNS, 5432 and the channels; every selector selects a pod', () => {
  const pods = workloads(withPostgres).map((w) => ({ name: w.metadata.name, labels: w.spec.template.metadata.labels as Record<string, string> }));
  const selected = (selector: { matchLabels?: Record<string, string> }): string[] => pods.filter((p) => selects(selector.matchLabels ?? {}, p.labels)).map((p) => p.name);
  const policies = withPostgres.filter((o) => o.kind === 'NetworkPolicy');
  const deny = find(withPostgres, 'NetworkPolicy', 'default-deny-ingress');
  assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress'] });
  const allowed = policies
    .filter((p) => p.spec.ingress)
    .flatMap((p) => p.spec.ingress.map((rule: any) => `${rule.from.flatMap((f: any) => selected(f.podSelector)).join(',')} -> ${selected(p.spec.podSelector).join(',')}:${rule.ports.map((x: any) => x.port).join(',')}`));
  assert.deepEqual(allowed.sort(), ['agent -> mailer:33333', 'mailer -> postgres:5432']);
  const egress = find(withPostgres, 'NetworkPolicy', 'mailer-egress');
  assert.deepEqual(selected(egress.spec.podSelector), ['mailer']);
  const out = egress.spec.egress.flatMap((rule: any) => rule.ports.map((x: any) => `${x.protocol}/${x.port}`));
  for (const port of ['UDP/53', 'TCP/53', 'TCP/5432', 'TCP/25', 'TCP/465', 'TCP/587', 'TCP/443']) assert.ok(out.includes(port), port);
  for (const o of withPostgres) {
    const selector = o.kind === 'Service' ? { matchLabels: o.spec.selector } : o.kind === 'PodDisruptionBudget' ? o.spec.selector : undefined;
    if (selector) assert.equal(selected(selector).length, 1, `${o.kind}/${o.metadata.name} selects one workload's pods`);
  }
});

test('the tls overlay: the mailers serve HTTPS with the certificate of the Secret mailer-tls, probed over HTTPS; the agents send to https://mailer:33333 trusting its ca.crt, without the key', () => {
  const mounted = (w: K8s, container: any, path: string): { secret: string; key: string } => {
    const mount = container.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    const volume = w.spec.template.spec.volumes.find((v: any) => v.name === mount?.name);
    assert.ok(volume?.secret, `${path} is on a Secret's mount`);
    return { secret: volume.secret.secretName, key: volume.secret.items.find((i: any) => i.path === path.slice(mount.mountPath.length + 1))?.key };
  };
  const mailer = find(tls, 'Deployment', 'mailer');
  const server = containersOf(mailer)[0];
  assert.deepEqual(mounted(mailer, server, env(server, 'TLS_CERT').value), { secret: 'mailer-tls', key: 'tls.crt' });
  assert.deepEqual(mounted(mailer, server, env(server, 'TLS_KEY').value), { secret: 'mailer-tls', key: 'tls.key' });
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) assert.deepEqual([server[probe].httpGet.scheme, server[probe].httpGet.path], ['HTTPS', '/healthz'], probe);
  const agent = find(tls, 'StatefulSet', 'agent');
  const client = containersOf(agent)[0];
  assert.equal(env(client, 'MAILER_URL').value, `https://${find(tls, 'Service', 'mailer').metadata.name}:${MAILER_PORT}`);
  assert.deepEqual(mounted(agent, client, env(client, 'MAILER_CA').value), { secret: 'mailer-tls', key: 'ca.crt' });
  const keys = agent.spec.template.spec.volumes.filter((v: any) => v.secret?.secretName === 'mailer-tls').flatMap((v: any) => v.secret.items.map((i: any) => i.key));
  assert.deepEqual(keys, ['ca.crt'], 'the agents never mount the key');
  assert.equal(env(client, 'SHARD').value, env(containersOf(find(base, 'StatefulSet', 'agent'))[0], 'SHARD').value, 'the rest of the base unchanged');
});

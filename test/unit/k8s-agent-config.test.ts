/**
 * docker/k8s's ConfigMap of the agents' targets (base/agent-config.yaml) is a config file the
 * agent loads (README "The config file"): written out as the pods see it, read by the agent's
 * own loader, every target valid. (test/process/k8s-manifests.test.ts renders the whole
 * kustomization and checks that CONFIG_FILE names this key in the mounted ConfigMap.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfigFile } from '../../agent/config-file.ts';
import { DEFAULT_SETTINGS } from '../../agent/target.ts';
import { configFiles } from '../support/config-files.ts';
import { ROOT } from '../support/readme.ts';

const { file } = configFiles('ch2-k8s-config-');

test("the agents' ConfigMap holds agent.yaml, a config file the agent loads: its targets, each valid", async () => {
  const configMap = parse(readFileSync(join(ROOT, 'docker', 'k8s', 'base', 'agent-config.yaml'), 'utf8')) as { kind: string; data: Record<string, string> };
  assert.equal(configMap.kind, 'ConfigMap');
  assert.deepEqual(Object.keys(configMap.data), ['agent.yaml']);
  const targets = await loadConfigFile(file(configMap.data['agent.yaml']!, 'yaml'), DEFAULT_SETTINGS, {});
  assert.deepEqual(
    targets.map((t) => [t.name, t.kind, t.intervalMs]),
    [
      ['example-com', 'http', 5000],
      ['example-org', 'http', 5000],
      ['example-net', 'http', 5000],
      ['iana', 'http', 5000],
      ['kubernetes-dns', 'dns', 5000],
    ],
  );
});

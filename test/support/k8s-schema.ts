/**
 * Kubernetes objects checked offline against Kubernetes' own schemas (the OpenAPI
 * definitions, compiled by the npm package kubernetes-models), and against
 * unknown fields, which those schemas let through (no additionalProperties: false
 * in Kubernetes' OpenAPI; the API server drops or refuses them, a misspelt
 * `readOnlyRootFileSystem` silently). The unknown-field check watches the
 * compiled validator: it reads every property its schema names (`data.spec`,
 * `data.containers`, ...) and walks every key of a map (labels, data), so an own
 * key of an object that the validator never read is one its schema does not
 * know. test/process/k8s-manifests.test.ts uses it on the rendered kustomization.
 */

interface CompiledValidate {
  (data: unknown): boolean;
  errors?: { instancePath: string; keyword: string; params: Record<string, unknown> }[] | null;
}

/** The compiled validator of an object's apiVersion and kind: IoK8sApi<Group><Version><Kind>. */
async function validatorFor(apiVersion: string, kind: string): Promise<CompiledValidate> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  const name = `IoK8sApi${capital(group!.split('.')[0]!)}${capital(version!)}${kind}`;
  try {
    const module = (await import(`kubernetes-models/_schemas/${name}`)) as { validate: CompiledValidate };
    return module.validate;
  } catch {
    throw new Error(`no Kubernetes schema for ${apiVersion} ${kind} (kubernetes-models/_schemas/${name})`);
  }
}

/** A proxy of value that records, per object, the keys read from it (into read). */
function watched(value: unknown, read: Map<object, Set<string>>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (!read.has(value)) read.set(value, new Set());
  const keys = read.get(value)!;
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'string') keys.add(key);
      return watched(Reflect.get(target, key, receiver), read);
    },
  });
}

/** Every own key of an object (not an array's index) in value that read says nobody read: "spec.template.spec.containres". */
function unread(value: unknown, read: Map<object, Set<string>>, path: string, out: string[]): string[] {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unread(item, read, `${path}[${i}]`, out));
    return out;
  }
  const keys = read.get(value);
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (!keys?.has(key)) out.push(at);
    else unread(child, read, at, out);
  }
  return out;
}

export interface ObjectProblems {
  /** What the schema refuses: "/spec/replicas: type {"type":"integer"}". */
  schema: string[];
  /** Fields the schema does not know: "spec.template.spec.containres". */
  unknown: string[];
}

/** The schema's errors and the unknown fields of one Kubernetes object. */
export async function checkObject(object: { apiVersion: string; kind: string }): Promise<ObjectProblems> {
  const validate = await validatorFor(object.apiVersion, object.kind);
  const read = new Map<object, Set<string>>();
  const valid = validate(watched(object, read));
  const schema = valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.keyword} ${JSON.stringify(e.params)}`);
  return { schema, unknown: unread(object, read, '', []) };
}

/** Whether kubernetes-models' own check (the schema alone) takes the object. */
export async function schemaAccepts(object: { apiVersion: string; kind: string }): Promise<boolean> {
  return (await validatorFor(object.apiVersion, object.kind))(object);
}

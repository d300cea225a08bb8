import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { parseQuantityMilli } from '../scheduler/quantity.js';
import { expandVars } from './env-expansion.js';

/** A container's env cannot be built (missing ConfigMap key, unsupported field path...). */
export class ContainerConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerConfigError';
  }
}

export interface EnvContext {
  core: CoreV1Api;
  nodeName: string;
  hostIP: string;
  podIP: string;
  /** Node allocatable, the default for resourceFieldRef limits. */
  nodeAllocatable: Record<string, string>;
}

/** Variables every process gets from the sandbox, as an image's own ENV would provide them. */
export function baseEnv(pod: V1Pod): Record<string, string> {
  const env: Record<string, string> = { HOSTNAME: pod.metadata?.name ?? '' };
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.*)'\]$/;

export function fieldRefValue(pod: V1Pod, fieldPath: string, ctx: Pick<EnvContext, 'hostIP' | 'podIP' | 'nodeName'>): string {
  const sub = SUBSCRIPT.exec(fieldPath);
  if (sub) {
    const map = sub[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[sub[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? ctx.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef.fieldPath ${JSON.stringify(fieldPath)}`);
  }
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n');
}

function resourceFieldValue(container: V1Container, resource: string, divisor: string | undefined, ctx: EnvContext): string {
  const [kind, name] = resource.split('.', 2) as ['limits' | 'requests', string];
  const set = kind === 'limits' ? container.resources?.limits : container.resources?.requests;
  const q = set?.[name] ?? (kind === 'limits' ? ctx.nodeAllocatable[name] : undefined) ?? '0';
  const div = parseQuantityMilli(divisor ?? '1');
  return String(Math.ceil(parseQuantityMilli(q) / div));
}

async function readKey(
  ctx: EnvContext,
  kind: 'configMap' | 'secret',
  namespace: string,
  name: string,
  key: string,
  optional: boolean | undefined,
): Promise<string | undefined> {
  const data = await readData(ctx, kind, namespace, name, optional);
  const v = data?.[key];
  if (v === undefined && !optional) {
    throw new ContainerConfigError(`couldn't find key ${key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${namespace}/${name}`);
  }
  return v;
}

async function readData(
  ctx: EnvContext,
  kind: 'configMap' | 'secret',
  namespace: string,
  name: string,
  optional: boolean | undefined,
): Promise<Record<string, string> | undefined> {
  try {
    if (kind === 'configMap') {
      const cm = await ctx.core.readNamespacedConfigMap({ name, namespace });
      return cm.data ?? {};
    }
    const secret = await ctx.core.readNamespacedSecret({ name, namespace });
    const out: Record<string, string> = { ...(secret.stringData ?? {}) };
    for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    return out;
  } catch (err) {
    if (optional) return undefined;
    throw new ContainerConfigError(`${kind === 'secret' ? 'secret' : 'configmap'} "${name}" not found`, { cause: err });
  }
}

/**
 * The container's own variables (envFrom, then env in order, each value expanded against
 * the ones defined before it), without the base environment.
 */
export async function containerEnv(pod: V1Pod, container: V1Container, ctx: EnvContext): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const src of container.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref?.name) continue;
    const data = await readData(ctx, src.configMapRef ? 'configMap' : 'secret', namespace, ref.name, ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
  }
  const lookup = (name: string): string | undefined => env[name];
  for (const e of container.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expandVars(e.value ?? '', lookup);
      continue;
    }
    const vf = e.valueFrom;
    let v: string | undefined;
    if (vf.fieldRef) v = fieldRefValue(pod, vf.fieldRef.fieldPath, ctx);
    else if (vf.resourceFieldRef) v = resourceFieldValue(container, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor, ctx);
    else if (vf.configMapKeyRef)
      v = await readKey(ctx, 'configMap', namespace, vf.configMapKeyRef.name ?? '', vf.configMapKeyRef.key, vf.configMapKeyRef.optional);
    else if (vf.secretKeyRef)
      v = await readKey(ctx, 'secret', namespace, vf.secretKeyRef.name ?? '', vf.secretKeyRef.key, vf.secretKeyRef.optional);
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

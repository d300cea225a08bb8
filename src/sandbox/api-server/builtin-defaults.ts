import type { StatusCause } from './errors.js';
import type { ResourceInfo } from './resource-registry.js';
import type { KubeObject } from './storage/store.js';

/** The defaults and status resets the real server's create strategies apply to built-in kinds. */
export function prepareBuiltinCreate(info: ResourceInfo, obj: KubeObject): void {
  if (info.group !== '') return;
  switch (info.plural) {
    case 'namespaces':
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
      obj.status = { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      break;
    case 'pods': {
      const spec = (obj.spec ??= {});
      spec.restartPolicy ??= 'Always';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.schedulerName ??= 'default-scheduler';
      spec.serviceAccountName ??= 'default';
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        c.terminationMessagePath ??= '/dev/termination-log';
        c.terminationMessagePolicy ??= 'File';
        c.imagePullPolicy ??= String(c.image ?? '').endsWith(':latest') || !String(c.image ?? '').includes(':') ? 'Always' : 'IfNotPresent';
      }
      obj.status = { phase: 'Pending', qosClass: qosClass(spec) };
      break;
    }
    case 'services':
      obj.spec = { type: 'ClusterIP', ...(obj.spec ?? {}) };
      obj.status = { loadBalancer: {} };
      break;
    case 'secrets':
      obj.type ??= 'Opaque';
      mergeStringData(obj);
      break;
  }
}

function mergeStringData(obj: KubeObject): void {
  if (obj.stringData && typeof obj.stringData === 'object') {
    obj.data = { ...(obj.data ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
    delete obj.stringData;
  }
}

function qosClass(spec: any): string {
  const containers: any[] = spec.containers ?? [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (guaranteed) return 'Guaranteed';
  return any ? 'Burstable' : 'BestEffort';
}

/**
 * A pod's spec is immutable but for images, activeDeadlineSeconds, added tolerations and
 * terminationGracePeriodSeconds (the real apiserver's ValidatePodUpdate); nodeName is set
 * only through the binding subresource. The real tier found the sandbox accepting more.
 */
/** JSON with object keys sorted: clients re-serialise objects in their own key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

function podSpecChangeForbidden(oldSpec: any, newSpec: any): boolean {
  const strip = (spec: any): unknown => {
    const s = structuredClone(spec ?? {});
    for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
      if (Array.isArray(s[key])) s[key] = s[key].map((c: any) => ({ ...c, image: undefined }));
    }
    delete s.activeDeadlineSeconds;
    delete s.terminationGracePeriodSeconds;
    delete s.tolerations;
    return s;
  };
  const tolerationsRemoved = (oldSpec?.tolerations ?? []).some((t: unknown) => !(newSpec?.tolerations ?? []).some((n: unknown) => canonical(n) === canonical(t)));
  return tolerationsRemoved || canonical(strip(oldSpec)) !== canonical(strip(newSpec));
}

/** The few validations of built-in kinds that controllers and the kubelet rely on. */
export function validateBuiltin(info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  if (info.group === '' && info.plural === 'secrets') mergeStringData(obj);
  if (info.group === '' && info.plural === 'pods') {
    const containers = obj.spec?.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
    } else {
      containers.forEach((c: any, i: number) => {
        if (!c?.name) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].name` });
      });
    }
    if (old && podSpecChangeForbidden(old.spec, obj.spec)) {
      causes.push({
        reason: 'FieldValueForbidden',
        message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        field: 'spec',
      });
    }
  }
  if (info.group === 'coordination.k8s.io' && info.plural === 'leases') {
    const d = obj.spec?.leaseDurationSeconds;
    if (d !== undefined && !(typeof d === 'number' && d > 0)) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${String(d)}: must be greater than 0`, field: 'spec.leaseDurationSeconds' });
    }
  }
  return causes;
}

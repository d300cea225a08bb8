/** Lookups and cross-object checks over rendered chart manifests. */
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node';
import type { K8sObject } from './helm.js';

export function find(objs: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one<T = K8sObject>(objs: K8sObject[], kind: string, name?: string): T {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as T;
}

export function controllerDeployment(objs: K8sObject[]): V1Deployment {
  return one<V1Deployment>(objs, 'Deployment');
}

export function controllerPodSpec(objs: K8sObject[]): V1PodSpec {
  return controllerDeployment(objs).spec!.template.spec!;
}

/** Controller flags from the fixed CLI (notes/worker-contract.md, "Controller CLI"): name → takes a value. */
export const CONTROLLER_FLAGS: Record<string, boolean> = {
  '--kubeconfig': true,
  '--nats-url': true,
  '--nats-creds': true,
  '--nats-tls-ca': true,
  '--nats-tls-cert': true,
  '--nats-tls-key': true,
  '--leader-elect': false,
  '--leader-election-namespace': true,
  '--lease-name': true,
  '--metrics-port': true,
  '--health-port': true,
  '--agent-image': true,
  '--log-level': true,
  // Added by the HA-queue issue (docs/architecture.md, "Queue replicas").
  '--nats-replicas': true,
  // Added by the least-privilege issue (docs/architecture.md, "Threat model").
  '--job-signing-key': true,
  // Key rotation: files of the previous signing keys (jobSigning.previousSecretNames).
  '--job-previous-signing-keys': true,
  // The upgrade window of event MACs (jobSigning.eventMacs).
  '--event-macs': true,
  // NATS static user of the controller (natsAuth); the password only in env VISIONQ_NATS_PASSWORD.
  '--nats-user': true,
};

/** Parses `controller --flag value --switch ...` strictly against the CLI; throws on anything else. */
export function parseControllerArgs(args: string[]): Map<string, string | true> {
  const [cmd, ...rest] = args;
  if (cmd !== 'controller') throw new Error(`first argument must be the subcommand "controller", got ${String(cmd)}`);
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (!(flag in CONTROLLER_FLAGS)) throw new Error(`unknown controller flag ${flag}`);
    if (flags.has(flag)) throw new Error(`flag ${flag} given twice`);
    if (CONTROLLER_FLAGS[flag]) {
      const value = rest[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`flag ${flag} lacks a value`);
      flags.set(flag, value);
    } else {
      flags.set(flag, true);
    }
  }
  return flags;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Rules that grant anything through a wildcard, or RBAC verbs that escalate. */
export function rbacWildcards(objs: K8sObject[]): string[] {
  const bad: string[] = [];
  for (const o of objs.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole')) {
    const rules = (o as { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[]; nonResourceURLs?: string[] }[] }).rules ?? [];
    for (const r of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'nonResourceURLs'] as const) {
        for (const x of r[field] ?? []) if (x.includes('*')) bad.push(`${o.kind}/${o.metadata.name} ${field}: ${x}`);
      }
      for (const verb of r.verbs ?? []) {
        if (['escalate', 'bind', 'impersonate'].includes(verb)) bad.push(`${o.kind}/${o.metadata.name} verb ${verb}`);
      }
      for (const res of r.resources ?? []) {
        if (['secrets', 'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts/token'].includes(res)) {
          bad.push(`${o.kind}/${o.metadata.name} resource ${res}`);
        }
      }
    }
  }
  return bad;
}

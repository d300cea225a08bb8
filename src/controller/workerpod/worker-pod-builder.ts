import { createHash } from 'node:crypto';
import type { V1Container, V1EnvVar, V1Pod, V1PodTemplateSpec, V1Volume } from '@kubernetes/client-node';
import {
  POOL_LABEL,
  SAFE_TO_EVICT_ANNOTATION,
  TEMPLATE_HASH_LABEL,
  WORKER_LABEL,
  WORKERPOOL_API_VERSION,
  WORKERPOOL_KIND,
} from './worker-pod-labels.js';
import { effectivePoolSpec, type WorkerPoolView } from '../workerpool/workerpool-view.js';
import type { JobSigner } from '../../queue/job-signature.js';
import { workerUserName } from '../../queue/nats-permissions.js';

/** The controller settings that shape a worker pod (a subset of ControllerSettings). */
export interface WorkerPodSettings {
  /** NATS URL as the worker pods reach it (may differ from the controller's own). */
  natsUrlForWorkers: string;
  /** Its public key (and the previous signers') go to the agents, which then run only signed jobs. */
  jobSigner?: Pick<JobSigner, 'publicKey'>;
  previousJobSigners?: Pick<JobSigner, 'publicKey'>[];
  /** Without agentImage (the sandbox): how a worker process runs the agent, e.g. [node, <repo>/dist/cli/main.js, 'agent']. */
  agentCommand?: string[];
  /** Real cluster: the visionq image whose /opt/visionq-agent the init container copies; takes precedence. */
  agentImage?: string;
  /** Where the agent lives inside agentImage. */
  agentInstallPath?: string;
  /** Secret (same namespace as the pool) holding `nats.creds` for the agents. */
  workerNatsCredsSecret?: string;
  /**
   * Secret (same namespace as the pool) whose key `<pool name>` holds the password of the pool's
   * static NATS user (`workerUserName`, src/queue/nats-permissions.ts). The password reaches the
   * agent as env from the Secret, never in the command line.
   */
  workerNatsUserSecret?: string;
  /** TLS material for the agents, from a Secret in the pool's namespace (see WorkerNatsTls). */
  workerNatsTls?: WorkerNatsTls;
}

/**
 * A Secret (same namespace as the pool) with the agents' TLS files, mounted read-only at
 * NATS_TLS_MOUNT_PATH. The fields name keys of that Secret; each one left empty is neither
 * mounted nor passed. With `ca` the agent verifies the server against it; with `cert` and
 * `key` (both or neither) it also presents a client certificate. Any of them makes the agent
 * refuse a server that does not offer TLS (nats.js checks the server's INFO), whatever the
 * URL's scheme says.
 */
export interface WorkerNatsTls {
  secretName: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** The pool's template cannot be turned into a worker pod; the reconciler reports it on the pool. */
export class WorkerTemplateError extends Error {
  override readonly name = 'WorkerTemplateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const AGENT_VOLUME = 'visionq-agent';
export const AGENT_MOUNT_PATH = '/visionq';
export const AGENT_INIT_CONTAINER = 'visionq-agent-install';
export const DEFAULT_AGENT_INSTALL_PATH = '/opt/visionq-agent';
export const NATS_CREDS_VOLUME = 'visionq-nats-creds';
export const NATS_CREDS_MOUNT_PATH = '/var/run/visionq/nats';
export const NATS_CREDS_KEY = 'nats.creds';
export const NATS_TLS_VOLUME = 'visionq-nats-tls';
export const NATS_TLS_MOUNT_PATH = '/etc/visionq/nats-tls';
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

/** Env vars the agent flags expand through `$(VAR)`: the kubelet fills them from the downward API. */
const DOWNWARD_ENV: V1EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

/**
 * Builds the worker pod `name` for `pool`: the pool's template with the agent wrapped around its
 * first container, owned by the pool, labelled with the template hash so template changes roll.
 */
export function buildWorkerPod(pool: WorkerPoolView, settings: WorkerPodSettings, name: string): V1Pod {
  const body = buildPodBody(pool, settings);
  const hash = hashOf(body);
  const { metadata: tplMeta, spec } = body;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: pool.metadata.namespace,
      labels: { ...tplMeta.labels, [TEMPLATE_HASH_LABEL]: hash },
      annotations: tplMeta.annotations,
      ownerReferences: [
        {
          apiVersion: WORKERPOOL_API_VERSION,
          kind: WORKERPOOL_KIND,
          name: pool.metadata.name ?? '',
          uid: pool.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/** The template hash a current worker pod of `pool` carries; pods with another value are outdated. */
export function workerTemplateHash(pool: WorkerPoolView, settings: WorkerPodSettings): string {
  return hashOf(buildPodBody(pool, settings));
}

interface PodBody {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: NonNullable<V1Pod['spec']>;
}

function buildPodBody(pool: WorkerPoolView, settings: WorkerPodSettings): PodBody {
  const poolName = pool.metadata.name ?? '';
  const namespace = pool.metadata.namespace ?? 'default';
  const eff = effectivePoolSpec(pool.spec);
  // The API schema types only the fields visionq reads and preserves the rest of the PodSpec;
  // the template is a core/v1 PodTemplateSpec (the apiserver validates it when the pod is created).
  const template: V1PodTemplateSpec = structuredClone((pool.spec.template ?? {}) as V1PodTemplateSpec);
  const tplSpec = template.spec;
  const first = tplSpec?.containers?.[0];
  if (!tplSpec || !first) throw new WorkerTemplateError('spec.template.spec.containers must have at least one container');
  const original = [...(first.command ?? []), ...(first.args ?? [])];
  if ((first.command ?? []).length === 0) {
    // The agent replaces the container's command; without an explicit one we cannot know the
    // image's entrypoint and would run nothing.
    throw new WorkerTemplateError('spec.template.spec.containers[0].command must be set (the agent wraps it)');
  }

  const creds = settings.workerNatsCredsSecret;
  const tls = tlsFiles(settings.workerNatsTls);
  const graceSeconds = tplSpec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_SECONDS;
  const flags = [
    '--nats-url', settings.natsUrlForWorkers,
    ...(creds ? ['--nats-creds', `${NATS_CREDS_MOUNT_PATH}/${NATS_CREDS_KEY}`] : []),
    ...(tls?.flags ?? []),
    '--namespace', namespace,
    '--pool', poolName,
    '--pod', '$(POD_NAME)',
    '--node', '$(NODE_NAME)',
    '--slots', String(eff.slotsPerWorker),
    '--ack-wait-seconds', String(eff.ackWaitSeconds),
    ...(settings.jobSigner ? ['--job-public-keys', [settings.jobSigner.publicKey, ...(settings.previousJobSigners ?? []).map((s) => s.publicKey)].join(',')] : []),
    ...(eff.permanentExitCodes.length > 0 ? ['--permanent-exit-codes', eff.permanentExitCodes.join(',')] : []),
    // On SIGTERM the agent lets running jobs finish only while the kubelet would not SIGKILL it
    // first; what cannot finish in time is re-queued at once (a disruption, not a failure).
    '--grace-seconds', String(agentGraceSeconds(graceSeconds)),
  ];

  // An agent image means a real cluster (init container + shared volume), whatever agentCommand
  // says (it has a default); without one the agent runs from agentCommand (the sandbox).
  const sandbox = !settings.agentImage;
  if (sandbox && !(settings.agentCommand && settings.agentCommand.length > 0)) {
    throw new WorkerTemplateError('controller has neither agentCommand nor agentImage: cannot inject the agent');
  }
  const agentEntry = sandbox ? [...settings.agentCommand!] : [`${AGENT_MOUNT_PATH}/visionq-agent`];
  const userSecret = settings.workerNatsUserSecret;
  const agentEnv: V1EnvVar[] = [
    ...DOWNWARD_ENV,
    ...(userSecret
      ? [
          { name: 'VISIONQ_NATS_USER', value: workerUserName(namespace, poolName) },
          { name: 'VISIONQ_NATS_PASSWORD', valueFrom: { secretKeyRef: { name: userSecret, key: poolName } } },
        ]
      : []),
  ];
  const env = [...agentEnv, ...(first.env ?? []).filter((e) => !agentEnv.some((d) => d.name === e.name))];

  const worker: V1Container = {
    ...first,
    command: [...agentEntry, ...flags, '--', ...original],
    args: undefined,
    env,
    volumeMounts: [
      ...(first.volumeMounts ?? []),
      ...(sandbox ? [] : [{ name: AGENT_VOLUME, mountPath: AGENT_MOUNT_PATH, readOnly: true }]),
      ...(creds ? [{ name: NATS_CREDS_VOLUME, mountPath: NATS_CREDS_MOUNT_PATH, readOnly: true }] : []),
      ...(tls ? [{ name: NATS_TLS_VOLUME, mountPath: NATS_TLS_MOUNT_PATH, readOnly: true }] : []),
    ],
  };
  delete worker.args;
  if (worker.volumeMounts!.length === 0) delete worker.volumeMounts;

  const volumes: V1Volume[] = [
    ...(tplSpec.volumes ?? []),
    ...(sandbox ? [] : [{ name: AGENT_VOLUME, emptyDir: {} }]),
    ...(creds ? [{ name: NATS_CREDS_VOLUME, secret: { secretName: creds } }] : []),
    ...(tls ? [tls.volume] : []),
  ];
  const installPath = settings.agentInstallPath ?? DEFAULT_AGENT_INSTALL_PATH;
  const initContainers: V1Container[] = [
    ...(sandbox
      ? []
      : [
          {
            name: AGENT_INIT_CONTAINER,
            image: settings.agentImage!,
            command: ['cp', '-R', `${installPath}/.`, `${AGENT_MOUNT_PATH}/`],
            volumeMounts: [{ name: AGENT_VOLUME, mountPath: AGENT_MOUNT_PATH }],
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
          } satisfies V1Container,
        ]),
    ...(tplSpec.initContainers ?? []),
  ];

  const spec: PodBody['spec'] = {
    ...tplSpec,
    containers: [worker, ...tplSpec.containers.slice(1)],
    // The controller replaces dead workers itself (and re-queues their jobs); a restarted container
    // would come back as a fresh agent with none of the old job state anyway.
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: graceSeconds,
    // Workers need no Kubernetes credentials (the controller is the single writer of job
    // status); a template that really wants a token must say so explicitly.
    automountServiceAccountToken: tplSpec.automountServiceAccountToken ?? false,
  };
  if (volumes.length > 0) spec.volumes = volumes;
  else delete spec.volumes;
  if (initContainers.length > 0) spec.initContainers = initContainers;
  else delete spec.initContainers;
  // The scheduler assigns the node; a name in the template would pin every worker to one node.
  delete spec.nodeName;

  return {
    metadata: {
      labels: { ...(template.metadata?.labels ?? {}), [POOL_LABEL]: poolName, [WORKER_LABEL]: 'true' },
      annotations: { ...(template.metadata?.annotations ?? {}), [SAFE_TO_EVICT_ANNOTATION]: 'false' },
    },
    spec,
  };
}

/**
 * The agent's TLS flags and the Secret volume behind them, or undefined when nothing is to be
 * mounted. Only the named keys are projected: a Secret that also holds, say, the server's own
 * key does not hand it to the algorithm container, and a missing key stops the pod at mount
 * time with a kubelet event naming it, not later with an agent that cannot read its file.
 */
function tlsFiles(tls: WorkerNatsTls | undefined): { flags: string[]; volume: V1Volume } | undefined {
  if (!tls?.secretName) return undefined;
  const files: { flag: string; key: string }[] = [];
  if (tls.ca) files.push({ flag: '--nats-tls-ca', key: tls.ca });
  if (tls.cert && tls.key) files.push({ flag: '--nats-tls-cert', key: tls.cert }, { flag: '--nats-tls-key', key: tls.key });
  if (files.length === 0) return undefined;
  return {
    flags: files.flatMap(({ flag, key }) => [flag, `${NATS_TLS_MOUNT_PATH}/${key}`]),
    volume: { name: NATS_TLS_VOLUME, secret: { secretName: tls.secretName, items: files.map(({ key }) => ({ key, path: key })) } },
  };
}

/** The pod's grace period minus the agent's own SIGTERM→SIGKILL gap for a job process (5 s) and a margin. */
export function agentGraceSeconds(terminationGracePeriodSeconds: number): number {
  return Math.max(0, terminationGracePeriodSeconds - 7);
}

function hashOf(body: PodBody): string {
  return createHash('sha256').update(stableJson(body)).digest('hex').slice(0, 10);
}

/** JSON with sorted keys so the hash does not depend on property order (API servers reorder). */
export function stableJson(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => stableJson(x === undefined ? null : x)).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `<pool>-<5 random chars>` like generateName, but chosen here so a retried create cannot make two pods. */
export function workerPodName(poolName: string, random: () => number = Math.random): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)];
  return `${poolName.slice(0, 57)}-${suffix}`;
}

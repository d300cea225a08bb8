/**
 * The table of invalid VisionJob/WorkerPool manifests, each with the field its refusal must
 * name. Shared by the unit test (generated CRD schema and zod) and the real-tier test (the
 * real kube-apiserver with the generated CRDs installed).
 */
export const job = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'visionq.dev/v1alpha1',
  kind: 'VisionJob',
  metadata: { name: 'job-1', namespace: 'default', ...meta },
  spec: { pool: 'gpu', ...spec },
  ...extra,
});
export const pool = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'visionq.dev/v1alpha1',
  kind: 'WorkerPool',
  metadata: { name: 'gpu', namespace: 'default', ...meta },
  spec: { maxReplicas: 2, template: { spec: { containers: [{ name: 'algo', image: 'x' }] } }, ...spec },
});
const withoutPool = () => {
  const j = job();
  delete (j.spec as any).pool;
  return j;
};
const manyKeys = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));

export interface Case {
  name: string;
  obj: any;
  old?: any;
  field: string;
}

export const cases: Case[] = [
  // VisionJob
  { name: 'retries of the wrong type', obj: job({ retries: 'three' }), field: 'spec.retries' },
  { name: 'missing pool', obj: withoutPool(), field: 'spec.pool' },
  { name: 'negative retries', obj: job({ retries: -1 }), field: 'spec.retries' },
  { name: 'fractional priority', obj: job({ priority: 1.5 }), field: 'spec.priority' },
  { name: 'input that is not an object', obj: job({ input: ['a'] }), field: 'spec.input' },
  { name: 'input with too many properties', obj: job({ input: manyKeys }), field: 'spec.input' },
  { name: 'pool name with a dot', obj: job({ pool: 'gpu.a100' }), field: 'spec.pool' },
  { name: 'job name with a dot', obj: job({}, { name: 'job.1' }), field: 'metadata.name' },
  { name: 'job name with uppercase', obj: job({}, { name: 'Job-1' }), field: 'metadata.name' },
  { name: 'job name longer than 63', obj: job({}, { name: 'j'.repeat(64) }), field: 'metadata.name' },
  { name: 'too many args', obj: job({ args: Array.from({ length: 65 }, () => 'a') }), field: 'spec.args' },
  { name: 'arg too long', obj: job({ args: ['ok', 'a'.repeat(4097)] }), field: 'spec.args[1]' },
  { name: 'env name not a C identifier', obj: job({ env: [{ name: '1BAD', value: 'x' }] }), field: 'spec.env[0].name' },
  { name: 'env value too long', obj: job({ env: [{ name: 'A', value: 'x'.repeat(4097) }] }), field: 'spec.env[0].value' },
  { name: 'backoff factor below 1', obj: job({ backoff: { factor: 0.5 } }), field: 'spec.backoff.factor' },
  { name: 'zero timeout', obj: job({ timeoutSeconds: 0 }), field: 'spec.timeoutSeconds' },
  { name: 'unknown spec field', obj: job({ replicas: 2 }), field: 'spec.replicas' },
  { name: 'unknown field in backoff', obj: job({ backoff: { jitter: true } }), field: 'spec.backoff.jitter' },
  { name: 'unknown status phase', obj: job({}, {}, { status: { phase: 'Done' } }), field: 'status.phase' },
  { name: 'progress above 100', obj: job({}, {}, { status: { progress: { percent: 101 } } }), field: 'status.progress.percent' },
  // VisionJob updates (transition rules)
  { name: 'changing spec.pool on update', obj: job({ pool: 'other' }), old: job(), field: 'spec.pool' },
  { name: 'changing spec.input on update', obj: job({ input: { video: 'b' } }), old: job({ input: { video: 'a' } }), field: 'spec.input' },
  { name: 'adding spec.retries on update', obj: job({ retries: 1 }), old: job(), field: 'spec.retries' },
  { name: 'changing spec.args on update', obj: job({ args: ['b'] }), old: job({ args: ['a'] }), field: 'spec.args' },
  {
    name: 'changing priority after Running',
    obj: job({ priority: 10 }, {}, { status: { phase: 'Running' } }),
    old: job({ priority: 1 }, {}, { status: { phase: 'Running' } }),
    field: 'spec.priority',
  },
  {
    name: 'changing suspend after Succeeded',
    obj: job({ suspend: true }, {}, { status: { phase: 'Succeeded' } }),
    old: job({}, {}, { status: { phase: 'Succeeded' } }),
    field: 'spec.suspend',
  },
  // WorkerPool
  { name: 'minReplicas > maxReplicas', obj: pool({ minReplicas: 3, maxReplicas: 2 }), field: 'spec.minReplicas' },
  { name: 'maxReplicas of 0', obj: pool({ maxReplicas: 0 }), field: 'spec.maxReplicas' },
  { name: 'slotsPerWorker of 0', obj: pool({ slotsPerWorker: 0 }), field: 'spec.slotsPerWorker' },
  { name: 'ackWaitSeconds of 0', obj: pool({ ackWaitSeconds: 0 }), field: 'spec.ackWaitSeconds' },
  { name: 'maxReplicas of the wrong type', obj: pool({ maxReplicas: '4' }), field: 'spec.maxReplicas' },
  { name: 'no containers', obj: pool({ template: { spec: { containers: [] } } }), field: 'spec.template.spec.containers' },
  { name: 'template without a pod spec body', obj: pool({ template: { spec: { nodeSelector: {} } } }), field: 'spec.template.spec.containers' },
  { name: 'container without a name', obj: pool({ template: { spec: { containers: [{ image: 'x' }] } } }), field: 'spec.template.spec.containers[0].name' },
  { name: 'exit code 0 listed as permanent', obj: pool({ permanentExitCodes: [3, 0] }), field: 'spec.permanentExitCodes[1]' },
  { name: 'exit code above 255', obj: pool({ permanentExitCodes: [256] }), field: 'spec.permanentExitCodes[0]' },
  { name: 'negative jobDefaults.retries', obj: pool({ jobDefaults: { retries: -1 } }), field: 'spec.jobDefaults.retries' },
  { name: 'pool name with uppercase', obj: pool({}, { name: 'GPU' }), field: 'metadata.name' },
  { name: 'pool name with a dot', obj: pool({}, { name: 'gpu.a100' }), field: 'metadata.name' },
  { name: 'unknown pool spec field', obj: pool({ replicas: 3 }), field: 'spec.replicas' },
];


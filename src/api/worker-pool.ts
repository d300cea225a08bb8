import { z } from 'zod';
import { API_GROUP_VERSION, LIMITS, WORKER_POOL_KIND } from './constants.js';
import { ConditionsSchema, ObjectMetaSchema, dnsLabel, jobSettingsShape } from './common-schemas.js';
import { nameRule } from './cel-rules.js';

/**
 * The parts of a Container visionq reads. Everything else of the PodSpec passes through
 * (x-kubernetes-preserve-unknown-fields): the apiserver validates it when the pod is created.
 */
export const ContainerSchema = z.looseObject({
  name: dnsLabel(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
});
export type Container = z.infer<typeof ContainerSchema>;

export const PodTemplateSpecSchema = z
  .strictObject({
    metadata: z
      .looseObject({
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    spec: z
      .looseObject({
        containers: z.array(ContainerSchema).min(1).describe('The first container runs the algorithm.'),
      })
      .describe('A core/v1 PodSpec.'),
  })
  .describe('Pod template of the GPU workers (a core/v1 PodTemplateSpec).');
export type PodTemplateSpec = z.infer<typeof PodTemplateSpecSchema>;

export const JobDefaultsSchema = z
  .strictObject(jobSettingsShape)
  .describe('Settings for jobs of this pool that do not set them.');
export type JobDefaults = z.infer<typeof JobDefaultsSchema>;

export const WorkerPoolSpecSchema = z
  .strictObject({
    template: PodTemplateSpecSchema,
    slotsPerWorker: z.int32().min(1).max(64).default(1).describe('Jobs one worker pod runs at once.'),
    minReplicas: z.int32().min(0).default(0),
    maxReplicas: z.int32().min(1).describe('Concurrency limit of the pool is maxReplicas x slotsPerWorker.'),
    scaleDownDelaySeconds: z.int32().min(0).default(60).describe('How long a worker must be idle before it is removed.'),
    ackWaitSeconds: z
      .int32()
      .min(1)
      .max(86400)
      .default(60)
      .describe('JetStream ack deadline; agents heartbeat at about a third of it.'),
    permanentExitCodes: z
      .array(z.int32().min(1).max(255))
      .max(LIMITS.permanentExitCodes)
      .default([])
      .meta({
        'x-kubernetes-list-type': 'set',
        description: 'Exit codes of the algorithm that mean a permanent failure (no retry).',
      }),
    jobDefaults: JobDefaultsSchema.optional(),
  })
  .refine((s) => s.minReplicas <= s.maxReplicas, {
    message: 'minReplicas must be less than or equal to maxReplicas',
    path: ['minReplicas'],
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas',
        message: 'minReplicas must be less than or equal to maxReplicas',
        fieldPath: '.minReplicas',
      },
    ],
  });
export type WorkerPoolSpec = z.infer<typeof WorkerPoolSpecSchema>;
export type WorkerPoolSpecInput = z.input<typeof WorkerPoolSpecSchema>;

const count = () => z.int32().min(0).optional();

export const WorkerPoolStatusSchema = z.strictObject({
  replicas: count().describe('Worker pods.'),
  ready: count().describe('Worker pods ready.'),
  busy: count().describe('Worker pods running at least one job.'),
  idle: count().describe('Ready worker pods running no job.'),
  pending: count().describe('Worker pods not yet scheduled (waiting for capacity).'),
  queued: count().describe('Jobs queued for this pool.'),
  running: count().describe('Jobs running in this pool.'),
  conditions: ConditionsSchema.optional(),
  observedGeneration: z.int().min(0).optional(),
});
export type WorkerPoolStatus = z.infer<typeof WorkerPoolStatusSchema>;

export const workerPoolRootRules = [nameRule()];

export const WorkerPoolSchema = z
  .strictObject({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(WORKER_POOL_KIND),
    metadata: ObjectMetaSchema,
    spec: WorkerPoolSpecSchema,
    status: WorkerPoolStatusSchema.optional(),
  })
  .refine((o) => o.metadata.name !== undefined || o.metadata.generateName !== undefined, {
    message: 'name or generateName is required',
    path: ['metadata', 'name'],
    params: { fieldErrorType: 'FieldValueRequired' },
  });
export type WorkerPool = z.infer<typeof WorkerPoolSchema>;
export type WorkerPoolInput = z.input<typeof WorkerPoolSchema>;

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

/** Per-tenant settings of a pool's fair sharing. */
export const TenantSharingSchema = z
  .strictObject({
    weight: z
      .number()
      .gt(0)
      .max(1000)
      .optional()
      .describe('Share of the pool relative to the other tenants (default 1): slots go to the tenant with the least jobs in flight per weight.'),
    maxRunning: z
      .int32()
      .min(0)
      .optional()
      .describe('Most jobs of this tenant queued or running in the pool at once (overrides maxRunningPerTenant; 0 pauses the tenant).'),
  })
  .describe('Weight and quota of one tenant.');

export const FairSharingSchema = z
  .strictObject({
    tenantLabel: z
      .string()
      .min(1)
      .max(317)
      .default('visionq.dev/tenant')
      .describe('Label of a VisionJob whose value is its tenant; jobs without it share one tenant.'),
    priorityScope: z
      .enum(['WithinTenant', 'AcrossTenants'])
      .default('WithinTenant')
      .describe('WithinTenant: priority orders jobs inside a tenant only. AcrossTenants: the highest waiting priority is admitted first; fair share decides among equal priorities.'),
    maxRunningPerTenant: z.int32().min(0).optional().describe('Most jobs of any one tenant queued or running in the pool at once (no cap when unset).'),
    tenants: z
      .record(z.string().max(63), TenantSharingSchema)
      .optional()
      .meta({ maxProperties: LIMITS.fairSharingTenants, description: 'Per-tenant weight and maxRunning, by tenant (label value).' }),
  })
  .describe('How the pool shares its slots between tenants (see the README: fair sharing).');
export type FairSharing = z.infer<typeof FairSharingSchema>;

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
    fairSharing: FairSharingSchema.optional(),
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

export const TenantStatusSchema = z.strictObject({
  name: z.string().max(63).describe('The tenant (label value; "" for jobs without the label).'),
  running: z.int32().min(0).describe('Jobs of the tenant holding a slot (queued or running).'),
  waiting: z.int32().min(0).describe('Jobs of the tenant waiting for admission.'),
  weight: z.number().describe('The tenant weight in fairSharing (default 1).'),
  sharePercent: z.int32().min(0).max(100).describe('Percent of the pool slots the tenant holds.'),
});
export type TenantStatus = z.infer<typeof TenantStatusSchema>;

export const WorkerPoolStatusSchema = z.strictObject({
  replicas: count().describe('Worker pods.'),
  ready: count().describe('Worker pods ready.'),
  busy: count().describe('Worker pods running at least one job.'),
  idle: count().describe('Ready worker pods running no job.'),
  pending: count().describe('Worker pods not yet scheduled (waiting for capacity).'),
  queued: count().describe('Jobs queued for this pool.'),
  running: count().describe('Jobs running in this pool.'),
  tenants: z
    .array(TenantStatusSchema)
    .max(LIMITS.statusTenants)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], description: `Tenants with jobs in flight or waiting, most active first (at most ${LIMITS.statusTenants}).` }),
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

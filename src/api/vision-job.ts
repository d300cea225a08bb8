import { z } from 'zod';
import {
  API_GROUP_VERSION,
  JOB_PHASES,
  LIMITS,
  VISION_JOB_KIND,
  WAITING_PHASES,
} from './constants.js';
import {
  ConditionsSchema,
  ObjectMetaSchema,
  byteLength,
  cIdentifier,
  dnsLabel,
  jobSettingsShape,
  timestamp,
} from './common-schemas.js';
import { immutableFieldRules, nameRule } from './cel-rules.js';

export const EnvVarSchema = z.strictObject({
  name: cIdentifier().describe('Environment variable name (a C identifier).'),
  value: z.string().max(LIMITS.envValueLength).default(''),
});
export type EnvVar = z.infer<typeof EnvVarSchema>;

/** Input bound: JSON object of at most 64 KiB serialized (the CRD can only bound its property count). */
export const JobInputSchema = z
  .record(z.string(), z.unknown())
  .refine((v) => Object.keys(v).length <= LIMITS.inputProperties, {
    message: `must have at most ${LIMITS.inputProperties} properties`,
    params: { fieldErrorType: 'FieldValueTooMany' },
  })
  .refine((v) => byteLength(v) <= LIMITS.inputBytes, {
    message: `may not be longer than ${LIMITS.inputBytes} bytes serialized`,
    params: { fieldErrorType: 'FieldValueTooLong' },
  })
  .meta({
    maxProperties: LIMITS.inputProperties,
    description:
      `Free-form JSON object handed to the algorithm. At most ${LIMITS.inputBytes} bytes serialized: ` +
      'a CRD schema cannot express a byte bound, so the controller enforces it and marks a larger job Failed naming spec.input.',
  });

const immutableJobFields = ['input', 'args', 'env', 'timeoutSeconds', 'retries', 'backoff', 'ttlSecondsAfterFinished'] as const;

export const VisionJobSpecSchema = z
  .strictObject({
    pool: dnsLabel().describe('Name of a WorkerPool in the same namespace.'),
    input: JobInputSchema.optional(),
    args: z
      .array(z.string().max(LIMITS.argLength))
      .max(LIMITS.argsItems)
      .optional()
      .describe("Appended to the pool's container command for this job."),
    env: z
      .array(EnvVarSchema)
      .max(LIMITS.envItems)
      .optional()
      .meta({
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: "Added to the pool's container environment for this job.",
      }),
    priority: z.int32().default(0).describe('Higher runs first. May change only while the job waits.'),
    suspend: z.boolean().default(false).describe('Hold the job: taken out of the queue, or stopped if running (not counted as a failure). May change until the job has finished.'),
    notBefore: timestamp()
      .optional()
      .describe(
        'RFC 3339 time before which the job is not admitted (Pending, reason NotBefore). An absolute time, ' +
          'like CronJob and Job deadlines are expressed, so a re-applied manifest means the same instant. May change only while the job waits.',
      ),
    ...jobSettingsShape,
    ttlSecondsAfterFinished: z.int32().min(0).optional().describe('Delete the finished job after this long.'),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'self.pool == oldSelf.pool', message: 'spec.pool is immutable', fieldPath: '.pool' },
      ...immutableFieldRules(immutableJobFields),
    ],
  });
export type VisionJobSpec = z.infer<typeof VisionJobSpecSchema>;
export type VisionJobSpecInput = z.input<typeof VisionJobSpecSchema>;

export const ProgressSchema = z.strictObject({
  percent: z.number().min(0).max(100),
  message: z.string().max(LIMITS.progressMessageLength).optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

export const CurrentAttemptSchema = z.strictObject({
  attempt: z.int32().min(0).optional().describe('Attempts started for the job (1-based) when this one started.'),
  pod: z.string().describe('Worker pod running the attempt.'),
  node: z.string().optional(),
  startedAt: timestamp().optional(),
  ackSubject: z
    .string()
    .max(512)
    .optional()
    .describe("JetStream reply subject of the delivery: the controller NAKs it to re-queue the job at once when the pod dies."),
  streamSeq: z.int().min(0).optional().describe('Sequence of the job message in VISIONQ_JOBS.'),
  deliveryCount: z.int32().min(0).optional().describe('JetStream delivery count: (streamSeq, deliveryCount) orders attempts.'),
  ended: z
    .enum(['succeeded', 'failed', 'requeued', 'cancelled', 'rejected', 'suspending', 'suspended'])
    .optional()
    .describe('How the attempt ended; later reports of the same attempt are ignored.'),
  requeuedForPod: z.string().optional().describe('Pod whose death re-queued this attempt.'),
});
export type CurrentAttempt = z.infer<typeof CurrentAttemptSchema>;

export const JobPhaseSchema = z.enum(JOB_PHASES);
export type JobPhase = z.infer<typeof JobPhaseSchema>;

export const VisionJobStatusSchema = z.strictObject({
  phase: JobPhaseSchema.optional(),
  conditions: ConditionsSchema.optional(),
  attempts: z.int32().min(0).optional().describe('Attempts started.'),
  failures: z.int32().min(0).optional().describe('Attempts the algorithm failed (count against retries).'),
  disruptions: z.int32().min(0).optional().describe('Attempts lost to worker loss or drain (do not count against retries).'),
  currentAttempt: CurrentAttemptSchema.optional(),
  queuedAt: timestamp().optional(),
  startTime: timestamp().optional(),
  completionTime: timestamp().optional(),
  lastHeartbeatTime: timestamp().optional(),
  progress: ProgressSchema.optional(),
  result: z
    .unknown()
    .refine((v) => byteLength(v) <= LIMITS.resultBytes, {
      message: `may not be longer than ${LIMITS.resultBytes} bytes serialized`,
      params: { fieldErrorType: 'FieldValueTooLong' },
    })
    .optional()
    .describe(`JSON written by the algorithm (at most ${LIMITS.resultBytes} bytes).`),
  message: z.string().max(LIMITS.messageLength).optional(),
  queueSequence: z.int().min(0).optional().describe('Sequence of the job message in VISIONQ_JOBS (removed from the stream on cancel).'),
  requeueGeneration: z
    .int32()
    .min(0)
    .optional()
    .describe('Times the job was taken back out of the queue (suspended while queued); part of its next message ID.'),
  tenant: z
    .string()
    .max(63)
    .optional()
    .describe(
      "Fair-share tenant the controller counts the job under: the value of its pool's fairSharing.tenantLabel, " +
        'written by the admission pass; absent for the shared tenant (no label). Kept once the job is admitted.',
    ),
  observedGeneration: z.int().min(0).optional(),
});
export type VisionJobStatus = z.infer<typeof VisionJobStatusSchema>;

const waiting = WAITING_PHASES.map((p) => `'${p}'`).join(', ');
const stillWaiting = `!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase in [${waiting}]`;

const notFinished = `${stillWaiting} || oldSelf.status.phase == 'Running'`;

/** Root rules: name shape, priority changes only while the job waits, suspend until it finished. */
export const visionJobRootRules = [
  nameRule(),
  {
    rule: `${stillWaiting} || (has(self.spec.priority) ? self.spec.priority : 0) == (has(oldSelf.spec.priority) ? oldSelf.spec.priority : 0)`,
    message: 'spec.priority may change only while the job is Pending or Queued',
    fieldPath: '.spec.priority',
  },
  {
    // Suspending a running job stops it (visionjob-suspend.ts); a finished job has nothing to hold.
    rule: `${notFinished} || (has(self.spec.suspend) ? self.spec.suspend : false) == (has(oldSelf.spec.suspend) ? oldSelf.spec.suspend : false)`,
    message: 'spec.suspend may change only until the job has finished',
    fieldPath: '.spec.suspend',
  },
  {
    // No '' default as for priority: a date-time string is a CEL timestamp on a real API server.
    rule: `${stillWaiting} || (has(self.spec.notBefore) == has(oldSelf.spec.notBefore) && (!has(self.spec.notBefore) || self.spec.notBefore == oldSelf.spec.notBefore))`,
    message: 'spec.notBefore may change only while the job is Pending or Queued',
    fieldPath: '.spec.notBefore',
  },
];

export const VisionJobSchema = z
  .strictObject({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(VISION_JOB_KIND),
    metadata: ObjectMetaSchema,
    spec: VisionJobSpecSchema,
    status: VisionJobStatusSchema.optional(),
  })
  .refine((o) => o.metadata.name !== undefined || o.metadata.generateName !== undefined, {
    message: 'name or generateName is required',
    path: ['metadata', 'name'],
    params: { fieldErrorType: 'FieldValueRequired' },
  });
export type VisionJob = z.infer<typeof VisionJobSchema>;
export type VisionJobInput = z.input<typeof VisionJobSchema>;

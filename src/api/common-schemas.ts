import { z } from 'zod';
import { C_IDENTIFIER_PATTERN, DNS1123_LABEL_MAX, DNS1123_LABEL_PATTERN, LIMITS } from './constants.js';

const DNS_LABEL_RE = new RegExp(DNS1123_LABEL_PATTERN);

/** A DNS-1123 label (lowercase alphanumerics and '-', at most 63): safe as a NATS subject token. */
export const dnsLabel = () =>
  z
    .string()
    .min(1)
    .max(DNS1123_LABEL_MAX)
    .regex(DNS_LABEL_RE, { message: "must be a lowercase RFC 1123 label: lowercase alphanumerics or '-', start and end alphanumeric, no dots" });

export const cIdentifier = () => z.string().min(1).max(LIMITS.envNameLength).regex(new RegExp(C_IDENTIFIER_PATTERN));

/** RFC 3339 timestamp as the apiserver serialises metav1.Time. */
export const timestamp = () => z.string().meta({ format: 'date-time' });

/** The ObjectMeta fields visionq reads; everything else passes through untouched. */
export const ObjectMetaSchema = z.looseObject({
  name: dnsLabel().optional(),
  generateName: z.string().max(DNS1123_LABEL_MAX).optional(),
  namespace: dnsLabel().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(z.looseObject({})).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** metav1.Condition. */
export const ConditionSchema = z.strictObject({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(LIMITS.messageLength).default(''),
  lastTransitionTime: timestamp(),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = z
  .array(ConditionSchema)
  .max(16)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

export const BackoffSchema = z
  .strictObject({
    initialSeconds: z.int32().min(0).optional().describe('Delay before the first retry.'),
    maxSeconds: z.int32().min(0).optional().describe('Upper bound of the retry delay.'),
    factor: z.number().min(1).max(100).optional().describe('Multiplier applied to the delay after each failure.'),
  })
  .describe('Exponential retry backoff; unset fields come from the pool, then built-in defaults.');
export type Backoff = z.infer<typeof BackoffSchema>;

/** Job settings a VisionJob may set and a WorkerPool's jobDefaults may default. */
export const jobSettingsShape = {
  timeoutSeconds: z.int32().min(1).optional().describe('Per-attempt timeout.'),
  retries: z.int32().min(0).max(1000).optional().describe('Failed attempts allowed before the job is Failed.'),
  backoff: BackoffSchema.optional(),
};

export function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

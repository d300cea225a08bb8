/**
 * NATS names used by visionq. Kubernetes names may contain '.', which is the NATS
 * token separator, so every name token goes through {@link subjectToken}.
 */

/** Stream holding queued jobs (WorkQueue retention). */
export const JOBS_STREAM = 'VISIONQ_JOBS';
/** Stream holding job events (limits retention, max age). */
export const EVENTS_STREAM = 'VISIONQ_EVENTS';
/** KV bucket: per job uid, the claimed attempt and the failure count (see attempt-store.ts). */
export const ATTEMPTS_BUCKET = 'VISIONQ_ATTEMPTS';
/** Captures the MAX_DELIVERIES advisories of the jobs stream, so none is missed while no controller listens. */
export const ADVISORIES_STREAM = 'VISIONQ_ADVISORIES';

export const JOBS_SUBJECT_PREFIX = 'visionq.jobs';
export const EVENTS_SUBJECT_PREFIX = 'visionq.events';
export const CONTROL_SUBJECT_PREFIX = 'visionq.control';

/**
 * Encodes a Kubernetes name (DNS label or subdomain: [a-z0-9.-]) as one NATS token.
 * '.' becomes '~' (never used by Kubernetes names), so the mapping is reversible
 * and two different names never share a subject.
 */
export function subjectToken(name: string): string {
  if (name.length === 0) throw new Error('empty name cannot be a subject token');
  return name.replace(/\./g, '~').replace(/[\s*>]/g, '_');
}

/** `visionq.jobs.<ns>.<pool>`: where the controller publishes a pool's jobs. */
export function jobSubject(namespace: string, pool: string): string {
  return `${JOBS_SUBJECT_PREFIX}.${subjectToken(namespace)}.${subjectToken(pool)}`;
}

/** `visionq.events.<ns>.<job name>`: events of one job (filter by `jobUid` as names are reused). */
export function eventSubject(namespace: string, jobName: string): string {
  return `${EVENTS_SUBJECT_PREFIX}.${subjectToken(namespace)}.${subjectToken(jobName)}`;
}

/** Wildcard over all events of a namespace (`visionq.events.<ns>.*`) or all (`visionq.events.>`). */
export function eventsWildcard(namespace?: string): string {
  return namespace === undefined ? `${EVENTS_SUBJECT_PREFIX}.>` : `${EVENTS_SUBJECT_PREFIX}.${subjectToken(namespace)}.*`;
}

/**
 * Durable pull consumer name of a pool: `visionq_<ns>_<pool>`. Kubernetes names have
 * no '_', so the separator is unambiguous.
 */
export function consumerName(namespace: string, pool: string): string {
  return `visionq_${subjectToken(namespace)}_${subjectToken(pool)}`;
}

/** Control requests an agent answers (NATS request/reply, JSON bodies). */
export type ControlVerb = 'cancel' | 'drain' | 'status';

/**
 * `visionq.control.<ns>.<pool>.<pod>.<verb>`: the pool token lets a pool's NATS user answer
 * only its own pool's pods (src/queue/nats-permissions.ts).
 * - `cancel`  body {"jobUid"} → reply {"ok", "state"}: stops the job's process, terms the message.
 * - `drain`   body {} → reply {"accepted", "reason"?}: refused while a job runs or was just taken;
 *             accepted → the agent takes no more jobs.
 * - `status`  body {} → reply {"pod", "draining", "running": [{jobUid, name, attempt}]}.
 */
export function controlSubject(namespace: string, pool: string, pod: string, verb: ControlVerb): string {
  return `${CONTROL_SUBJECT_PREFIX}.${subjectToken(namespace)}.${subjectToken(pool)}.${subjectToken(pod)}.${verb}`;
}

/** JetStream advisory published when a message reached the consumer's max_deliver. */
export function maxDeliveriesAdvisorySubject(stream = JOBS_STREAM, consumer = '*'): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
}

/** `visionq/client`: the typed client for platform backends. */
export { VisionQ, type VisionQOptions } from './vision-q.js';
export * from './errors.js';
export type { ListFilter, SubmitJob, SubmitOptions, WaitOptions, WaitTarget } from './types.js';
export type { WatchOptions } from './job-watch.js';
export { isFinished } from './job-watch.js';
export { IDEMPOTENCY_KEY_ANNOTATION, SUBMIT_HASH_ANNOTATION, TENANT_LABEL, nameForKey } from './idempotency.js';
export type { JobPhase, Progress, VisionJob, VisionJobSpec, VisionJobSpecInput, VisionJobStatus, Condition } from '../api/index.js';

/**
 * The cancel finalizer (`visionq.dev/cancel`): added by the reconciler before a job can be
 * published, released by the reconciler (finished job) or the cancellation (deleted job).
 * Its own file so the reconciler and visionjob-cancel.ts both use it without importing each other.
 */
import type { VisionJobObject } from '../manager/context-types.js';
import type { VisionJobRuntime } from './visionjob-runtime.js';

export const CANCEL_FINALIZER = 'visionq.dev/cancel';

export function hasFinalizer(job: VisionJobObject): boolean {
  return job.metadata.finalizers?.includes(CANCEL_FINALIZER) ?? false;
}

export async function addFinalizer(rt: VisionJobRuntime, key: string, uid: string): Promise<void> {
  await rt.store.updateObject(
    key,
    (j) => (hasFinalizer(j) ? undefined : { ...j, metadata: { ...j.metadata, finalizers: [...(j.metadata.finalizers ?? []), CANCEL_FINALIZER] } }),
    { uid },
  );
}

export async function removeFinalizer(rt: VisionJobRuntime, key: string, uid: string): Promise<void> {
  await rt.store.updateObject(
    key,
    (j) => (hasFinalizer(j) ? { ...j, metadata: { ...j.metadata, finalizers: j.metadata.finalizers!.filter((f) => f !== CANCEL_FINALIZER) } } : undefined),
    { uid },
  );
}

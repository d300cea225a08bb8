import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, describeApiError, isNotFound, sleep, statusCodeOf } from '../../kube/index.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Writes a pod's status through /status, latest state wins: changes made while a write is
 * in flight are coalesced into the next one, failures are retried with backoff, and a pod
 * that is gone (404) ends the syncer.
 */
export class PodStatusSyncer {
  private dirty = false;
  private loop: Promise<void> | undefined;
  private gone = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly name: string,
    private readonly uid: string,
    private readonly build: () => V1PodStatus,
    private readonly logger: Logger,
  ) {}

  markDirty(): void {
    if (this.gone || this.abort.signal.aborted) return;
    this.dirty = true;
    this.loop ??= this.run().finally(() => (this.loop = undefined));
  }

  /** Resolves once everything marked so far is written (or can never be). */
  async flush(): Promise<void> {
    while (this.loop) await this.loop;
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
    while (this.dirty && !this.gone && !this.abort.signal.aborted) {
      this.dirty = false;
      // Arrays in a merge patch replace wholesale; every field we own is an array or scalar.
      // The uid pins the patch to this pod: a re-created pod of the same name rejects it
      // (uid is immutable), as the real kubelet's status manager arranges.
      const body = { metadata: { uid: this.uid }, status: this.build() };
      try {
        await this.core.patchNamespacedPodStatus({ name: this.name, namespace: this.namespace, body }, MERGE_PATCH);
        backoff.reset();
      } catch (err) {
        if (isNotFound(err) || (this.uid && statusCodeOf(err) === 422)) {
          this.gone = true;
          return;
        }
        this.logger.warn({ pod: `${this.namespace}/${this.name}`, err: describeApiError(err) }, 'pod status update failed; retrying');
        this.dirty = true;
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }
}

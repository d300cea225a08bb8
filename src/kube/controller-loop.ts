import { classifyApiError, describeApiError, retryAfterMsOf, type ApiErrorClass } from './api-errors.js';
import { silentLogger, type Logger } from './logger.js';
import type { WorkQueue } from './work-queue.js';

export interface ReconcileResult {
  /** Run again after this long even if nothing changes (polling a deadline, a TTL...). */
  requeueAfterMs?: number;
  /** Run again soon with the key's backoff (not an error, just not converged yet). */
  requeue?: boolean;
}

export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'not-found';

export interface ReconcileObservation {
  controller: string;
  key: string;
  durationMs: number;
  outcome: ReconcileOutcome;
  errorClass?: ApiErrorClass;
}

/** Hooks for metrics (the controller attaches prom-client histograms and counters here). */
export interface ControllerMetrics {
  onReconcile?: (o: ReconcileObservation) => void;
}

export interface RunControllerOptions {
  name: string;
  queue: WorkQueue<string>;
  reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;
  workers?: number;
  logger?: Logger;
  metrics?: ControllerMetrics;
  /** Aborting it shuts the queue down and stops the workers. */
  signal?: AbortSignal;
  /** Conflicts in a row that are retried at once before the key's backoff applies. */
  immediateConflictRetries?: number;
  now?: () => number;
}

export interface RunningController {
  /** Resolves when every worker has exited. */
  done: Promise<void>;
  /** Shuts the queue down; with drain, waits for reconciles in flight. */
  stop(opts?: { drain?: boolean }): Promise<void>;
}

/**
 * Runs `workers` loops that take keys from the queue and reconcile them. The queue guarantees one
 * worker per key; this loop turns each outcome into the right requeue:
 * - success → forget the key's backoff (and requeueAfter if asked);
 * - 404 → the object is gone, done;
 * - 409 → re-read and retry at once (a few times, then with backoff);
 * - 400/422 → logged, not retried blindly (the next change or resync retries);
 * - 429 → backoff, at least Retry-After; everything else → per-key backoff.
 */
export function runController(opts: RunControllerOptions): RunningController {
  const { name, queue, reconcile } = opts;
  const log = (opts.logger ?? silentLogger()).child({ controller: name });
  const now = opts.now ?? (() => performance.now());
  const conflicts = new Map<string, number>();
  const maxImmediate = opts.immediateConflictRetries ?? 3;
  const ac = new AbortController();
  const onAbort = (): void => {
    ac.abort();
    queue.shutDown();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const observe = (key: string, started: number, outcome: ReconcileOutcome, errorClass?: ApiErrorClass): void => {
    try {
      opts.metrics?.onReconcile?.({ controller: name, key, durationMs: now() - started, outcome, errorClass });
    } catch (err) {
      log.warn({ err }, 'metrics hook threw');
    }
  };

  const processOne = async (key: string): Promise<void> => {
    const started = now();
    try {
      const result = await reconcile(key, ac.signal);
      conflicts.delete(key);
      if (result?.requeue) {
        queue.addRateLimited(key);
        observe(key, started, 'requeue');
        return;
      }
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      observe(key, started, 'success');
    } catch (err) {
      const cls = classifyApiError(err);
      const klog = log.child({ key, errorClass: cls });
      switch (cls) {
        case 'not-found':
          queue.forget(key);
          conflicts.delete(key);
          klog.debug({ err: describeApiError(err) }, 'object gone, nothing to do');
          observe(key, started, 'not-found', cls);
          return;
        case 'conflict': {
          const n = (conflicts.get(key) ?? 0) + 1;
          conflicts.set(key, n);
          if (n <= maxImmediate) queue.add(key);
          else queue.addRateLimited(key);
          klog.debug({ err: describeApiError(err), conflicts: n }, 'conflict, requeued');
          break;
        }
        case 'invalid':
          queue.forget(key);
          klog.error({ err: describeApiError(err) }, 'request rejected as invalid; not retried until the object changes');
          break;
        case 'throttled':
          queue.addRateLimited(key, retryAfterMsOf(err) ?? 0);
          klog.warn({ err: describeApiError(err) }, 'throttled, backing off');
          break;
        default:
          queue.addRateLimited(key);
          klog.warn(
            { err: cls === 'unknown' ? err : describeApiError(err), requeues: queue.numRequeues(key) },
            'reconcile failed, backing off',
          );
      }
      observe(key, started, 'error', cls);
    } finally {
      queue.done(key);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(key);
    }
  };

  const done = Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 1) }, () => worker())).then(() => {
    opts.signal?.removeEventListener('abort', onAbort);
  });

  return {
    done,
    async stop({ drain = false } = {}) {
      if (drain) await queue.shutDownWithDrain();
      else queue.shutDown();
      ac.abort();
      await done;
    },
  };
}

import type { CoreV1Api, CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { classifyApiError, describeApiError } from './api-errors.js';
import { realClock, type Clock } from '../lib/clock.js';
import { mergePatch } from './kube-patch.js';
import { silentLogger, type Logger } from './logger.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  core: CoreV1Api;
  /** source.component / reportingComponent, e.g. 'visionq-controller'. */
  component: string;
  /** source.host / reportingInstance, e.g. the pod name. */
  instance?: string;
  /** Same object+type+reason+message within this window bumps count (default 10 min). */
  aggregationWindowMs?: number;
  /** Events per second allowed on average, and burst (default 10 / 50); excess is dropped. */
  qps?: number;
  burst?: number;
  /** Aggregation entries kept (oldest dropped first). */
  maxCacheEntries?: number;
  logger?: Logger;
  clock?: Clock;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

/**
 * Records core/v1 Events for `kubectl describe`. Repeats of the same event within the window
 * update count and lastTimestamp on the existing Event instead of creating new ones. Recording
 * never throws and never blocks reconciling: failures are logged, floods are dropped.
 */
export class EventRecorder {
  private readonly cache = new Map<string, Aggregate>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly windowMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly maxEntries: number;
  private tokens: number;
  private lastRefill: number;
  /** Counters for tests and metrics. */
  readonly stats = { created: 0, aggregated: 0, dropped: 0, failed: 0 };

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'event-recorder' });
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 50;
    this.maxEntries = opts.maxCacheEntries ?? 4096;
    this.tokens = this.burst;
    this.lastRefill = this.clock.now();
  }

  /** Records an event; the promise always resolves (await it only when the order matters). */
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = [
      obj.metadata?.uid ?? '',
      obj.metadata?.namespace ?? '',
      obj.kind ?? '',
      obj.metadata?.name ?? '',
      type,
      reason,
      message,
    ].join('\u0000');
    if (!this.takeToken()) {
      this.stats.dropped++;
      this.log.debug({ reason, name: obj.metadata?.name }, 'event dropped by rate limit');
      return Promise.resolve();
    }
    // One write at a time per aggregation key, so a burst of repeats does not create duplicates.
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.record(key, obj, type, reason, message));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async record(key: string, obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.clock.now();
    const nowDate = new Date(now);
    const agg = this.cache.get(key);
    try {
      if (agg && now - agg.lastSeen < this.windowMs) {
        try {
          await mergePatch((p, o) => this.opts.core.patchNamespacedEvent(p, o), {
            name: agg.name,
            namespace: agg.namespace,
            body: { count: agg.count + 1, lastTimestamp: nowDate.toISOString() },
          });
          agg.count++;
          agg.lastSeen = now;
          this.touch(key, agg);
          this.stats.aggregated++;
          return;
        } catch (err) {
          // The Event expired (TTL) or was deleted: fall through and create a fresh one.
          if (classifyApiError(err) !== 'not-found') throw err;
        }
      }
      const namespace = obj.metadata?.namespace || 'default';
      const name = `${obj.metadata?.name ?? 'unknown'}.${(BigInt(now) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
      const body: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata?.name,
          namespace: obj.metadata?.namespace,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: nowDate,
        lastTimestamp: nowDate,
        source: { component: this.opts.component, host: this.opts.instance },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.instance,
      };
      await this.opts.core.createNamespacedEvent({ namespace, body });
      this.touch(key, { name, namespace, count: 1, lastSeen: now });
      this.stats.created++;
    } catch (err) {
      this.stats.failed++;
      this.log.warn({ err: describeApiError(err), reason, name: obj.metadata?.name }, 'could not record event');
    }
  }

  /** Map insertion order doubles as LRU order. */
  private touch(key: string, agg: Aggregate): void {
    this.cache.delete(key);
    this.cache.set(key, agg);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }

  private takeToken(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { classifyApiError, describeApiError } from './api-errors.js';
import { realClock, sleep, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from './logger.js';

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  leaseName: string;
  /** Unique per process: pod name plus a random suffix. */
  identity: string;
  /** How long a lease is honoured without renewal (client-go default 15 s). */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops leading (default 10 s; < leaseDuration). */
  renewDeadlineMs?: number;
  /** Pause between acquire/renew attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Give the lease up on stop() so a standby takes over at once (default true). */
  releaseOnStop?: boolean;
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
  clock?: Clock;
}

export class LeaderElectionError extends Error {
  override readonly name = 'LeaderElectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A unique candidate identity: the pod name (HOSTNAME in Kubernetes) plus a random suffix. */
export function defaultIdentity(): string {
  return `${process.env.POD_NAME ?? process.env.HOSTNAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
}

function toMs(t: unknown): number | undefined {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: candidates try to take
 * the lease when its holder has not renewed for leaseDuration (measured on the local clock from
 * when we last saw the record change, so clock skew between nodes does not matter); updates carry
 * the resourceVersion so two candidates cannot both win. A leader that cannot renew within
 * renewDeadline aborts its signal and becomes a candidate again.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopAc = new AbortController();
  private loop?: Promise<void>;
  private leading = false;
  private leaderAc?: AbortController;
  private observedRecord = '';
  private observedAt = 0;
  private observedLease?: V1Lease;
  private reportedLeader = '';

  constructor(private readonly opts: LeaderElectionOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) {
      throw new LeaderElectionError('renewDeadline must be shorter than leaseDuration');
    }
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({ lease: `${opts.namespace}/${opts.leaseName}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder we last observed (may be ourselves), '' if none. */
  get leader(): string {
    return this.observedLease?.spec?.holderIdentity ?? '';
  }

  start(): void {
    if (this.loop) return;
    this.stopAc = new AbortController();
    this.loop = this.run(this.stopAc.signal);
  }

  /** Stops leading or campaigning; releases the lease if we hold it (unless releaseOnStop=false). */
  async stop(): Promise<void> {
    this.stopAc.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      // Campaign.
      while (!stop.aborted && !(await this.tryAcquireOrRenew())) {
        await sleep(this.retryPeriodMs * (1 + 0.2 * Math.random()), stop, this.clock);
      }
      if (stop.aborted) break;
      this.becomeLeader();
      // Renew until we cannot.
      let lastRenew = this.clock.now();
      let inFlight: Promise<boolean> | undefined;
      while (!stop.aborted) {
        await sleep(this.retryPeriodMs, stop, this.clock);
        if (stop.aborted) break;
        // A renewal hanging on a slow server counts against the deadline too.
        const remaining = Math.max(0, this.renewDeadlineMs - (this.clock.now() - lastRenew));
        const deadline = new AbortController();
        const attempt = this.tryAcquireOrRenew();
        inFlight = attempt;
        const renewed = await Promise.race([
          attempt,
          sleep(remaining, AbortSignal.any([deadline.signal, stop]), this.clock).then(() => false),
        ]);
        deadline.abort();
        if (renewed) {
          lastRenew = this.clock.now();
        } else if (this.clock.now() - lastRenew >= this.renewDeadlineMs || !this.isHeldByMe()) {
          this.log.warn({ sinceRenewMs: this.clock.now() - lastRenew }, 'failed to renew lease, stopping leading');
          break;
        }
      }
      const wasLeading = this.leading;
      this.loseLeadership();
      if (stop.aborted && wasLeading && (this.opts.releaseOnStop ?? true)) {
        // A renewal still in flight would write after our read and make the release a 409: the
        // standby would then wait out the whole lease duration instead of taking over at once.
        await inFlight;
        await this.release();
      }
    }
  }

  private isHeldByMe(): boolean {
    return this.observedLease?.spec?.holderIdentity === this.opts.identity;
  }

  private becomeLeader(): void {
    this.leading = true;
    this.leaderAc = new AbortController();
    this.log.info('became leader');
    const signal = this.leaderAc.signal;
    Promise.resolve()
      .then(() => this.opts.onStartedLeading(signal))
      .catch((err: unknown) => this.log.error({ err }, 'onStartedLeading failed'));
  }

  private loseLeadership(): void {
    if (!this.leading) return;
    this.leading = false;
    this.leaderAc?.abort();
    this.log.info('stopped leading');
    try {
      this.opts.onStoppedLeading?.();
    } catch (err) {
      this.log.error({ err }, 'onStoppedLeading threw');
    }
  }

  private observe(lease: V1Lease): void {
    this.observedLease = lease;
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${spec.leaseTransitions ?? 0}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = this.clock.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.opts.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ err }, 'onNewLeader threw');
      }
    }
  }

  /** One attempt; true when we hold the lease afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { coordination, namespace, leaseName: name, identity } = this.opts;
    const now = this.clock.now();
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    try {
      let lease: V1Lease;
      try {
        lease = await coordination.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (classifyApiError(err) !== 'not-found') throw err;
        const created = await coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        });
        this.observe(created);
        return true;
      }
      this.observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const mine = holder === identity;
      if (holder && !mine && this.observedAt + this.leaseDurationMs > now) return false;
      const updated = await coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: mine && spec.acquireTime ? new V1MicroTime(toMs(spec.acquireTime) ?? now) : new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      this.observe(updated);
      return true;
    } catch (err) {
      // 409: someone else wrote first (a race we lost, or a stale read): try again next period.
      const cls = classifyApiError(err);
      if (cls === 'conflict') this.log.debug('lease update conflict');
      else this.log.warn({ err: describeApiError(err), class: cls }, 'lease acquire/renew failed');
      return false;
    }
  }

  /** Hands the lease over: an empty holder and a 1 s duration let a standby take it at once. */
  private async release(): Promise<void> {
    const { coordination, namespace, leaseName: name, identity } = this.opts;
    for (let attempt = 1; ; attempt++) {
      try {
        const lease = await coordination.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity !== identity) return;
        const now = new V1MicroTime(this.clock.now());
        await coordination.replaceNamespacedLease({
          name,
          namespace,
          body: {
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
          },
        });
        this.log.info('released lease');
        return;
      } catch (err) {
        // A conflict means the lease changed under us: read it again (it may no longer be ours).
        if (classifyApiError(err) === 'conflict' && attempt < 3) continue;
        this.log.warn({ err: describeApiError(err) }, 'could not release lease');
        return;
      }
    }
  }
}

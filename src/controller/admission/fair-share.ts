/**
 * Weighted fair share of a pool's free slots between tenants (pure; the admission pass calls it).
 *
 * A tenant is the value of a label on the job (fairSharing.tenantLabel, `visionq.dev/tenant` by
 * default); a job without it belongs to the shared tenant "". Each free slot goes, one at a time,
 * to the tenant with the least (in flight + admitted this pass) / weight; a tie goes to the tenant
 * whose next job comes first in the pool's admission order (priority desc, creation, name).
 * Inside a tenant, jobs go in that order. With priorityScope AcrossTenants the highest waiting
 * priority wins first and the share decides only between tenants whose next jobs have equal
 * priority. This is weighted fair queueing over one resource (slots): DRF with a single resource.
 *
 * A tenant whose in-flight count reached its maxRunning gets no slot; its jobs are held with
 * reason TenantAtQuota even when slots are free.
 *
 * When every job is in one tenant (no tenant labels) the result is exactly the strict admission
 * order of admission-plan.ts, capped at the free slots.
 */
import type { VisionJobObject } from '../manager/context-types.js';
import { admissionKey, compareAdmissionKeys, type AdmissionKey, type AdmissionPlan } from './admission-plan.js';
import { MinHeap } from './min-heap.js';

export const DEFAULT_TENANT_LABEL = 'visionq.dev/tenant';
/** The tenant of jobs that carry no tenant label. */
export const SHARED_TENANT = '';

export type PriorityScope = 'WithinTenant' | 'AcrossTenants';

export interface TenantPolicy {
  tenantLabel: string;
  priorityScope: PriorityScope;
  weightOf(tenant: string): number;
  /** Most jobs of the tenant in flight at once; undefined = no cap. */
  maxRunningOf(tenant: string): number | undefined;
}

/** The fairSharing block of a pool spec, as the controller reads it (defaults applied here). */
export interface FairSharingSpec {
  tenantLabel?: string;
  priorityScope?: PriorityScope;
  maxRunningPerTenant?: number;
  tenants?: Record<string, { weight?: number; maxRunning?: number }>;
}

export function tenantPolicy(spec: FairSharingSpec | undefined): TenantPolicy {
  const tenants = spec?.tenants ?? {};
  const own = (t: string): { weight?: number; maxRunning?: number } | undefined => (Object.hasOwn(tenants, t) ? tenants[t] : undefined);
  return {
    tenantLabel: spec?.tenantLabel || DEFAULT_TENANT_LABEL,
    priorityScope: spec?.priorityScope ?? 'WithinTenant',
    weightOf: (t) => {
      const w = own(t)?.weight;
      return typeof w === 'number' && Number.isFinite(w) && w > 0 ? w : 1;
    },
    maxRunningOf: (t) => own(t)?.maxRunning ?? spec?.maxRunningPerTenant,
  };
}

export function tenantOf(job: VisionJobObject, label: string): string {
  return job.metadata.labels?.[label] ?? SHARED_TENANT;
}

export interface FairShareInput {
  /** Waiting, admissible jobs (any order). */
  waiting: readonly VisionJobObject[];
  /** Jobs of each tenant holding a slot now (Queued, Running, published). */
  inFlight: ReadonlyMap<string, number>;
  /** Free slots of the pool. */
  free: number;
  policy: TenantPolicy;
}

export interface QuotaHold {
  job: VisionJobObject;
  tenant: string;
  limit: number;
  inFlight: number;
}

export interface FairSharePlan {
  /** Jobs to publish now, in the order they won their slots. */
  admit: VisionJobObject[];
  /** Waiting jobs of tenants at their maxRunning (TenantAtQuota). */
  atQuota: QuotaHold[];
  /** The other waiting jobs (no free slot for them: PoolAtCapacity). */
  rest: VisionJobObject[];
}

interface Keyed extends AdmissionKey {
  job: VisionJobObject;
  /** Index in the global admission order (the tie-break between tenants). */
  rank: number;
}

interface TenantQueue {
  tenant: string;
  jobs: Keyed[];
  next: number;
  used: number;
  weight: number;
  limit: number | undefined;
}


export function planFairShare(input: FairShareInput): FairSharePlan {
  const { policy } = input;
  const keyed: Keyed[] = input.waiting.map((job) => {
    const k = admissionKey(job) as Keyed;
    k.job = job;
    k.rank = 0;
    return k;
  });
  keyed.sort(compareAdmissionKeys);
  const queues = new Map<string, TenantQueue>();
  keyed.forEach((k, i) => {
    k.rank = i;
    const tenant = tenantOf(k.job, policy.tenantLabel);
    let q = queues.get(tenant);
    if (!q) {
      q = { tenant, jobs: [], next: 0, used: input.inFlight.get(tenant) ?? 0, weight: policy.weightOf(tenant), limit: policy.maxRunningOf(tenant) };
      queues.set(tenant, q);
    }
    q.jobs.push(k);
  });

  const atQuota: QuotaHold[] = [];
  const hold = (q: TenantQueue): void => {
    for (let i = q.next; i < q.jobs.length; i++) atQuota.push({ job: q.jobs[i]!.job, tenant: q.tenant, limit: q.limit!, inFlight: q.used });
    q.next = q.jobs.length;
  };
  const full = (q: TenantQueue): boolean => q.limit !== undefined && q.used >= q.limit;
  const across = policy.priorityScope === 'AcrossTenants';
  // Lower is served first.
  const before = (a: TenantQueue, b: TenantQueue): boolean => {
    const ha = a.jobs[a.next]!;
    const hb = b.jobs[b.next]!;
    if (across && ha.priority !== hb.priority) return ha.priority > hb.priority;
    const sa = a.used / a.weight;
    const sb = b.used / b.weight;
    if (sa !== sb) return sa < sb;
    return ha.rank < hb.rank;
  };

  const heap = new MinHeap<TenantQueue>(before);
  for (const q of queues.values()) {
    if (full(q)) hold(q);
    else heap.push(q);
  }
  const admit: VisionJobObject[] = [];
  let free = Math.max(0, input.free);
  while (free > 0 && heap.size > 0) {
    const q = heap.pop()!;
    admit.push(q.jobs[q.next]!.job);
    q.next++;
    q.used++;
    free--;
    if (q.next >= q.jobs.length) continue;
    if (full(q)) hold(q);
    else heap.push(q);
  }
  // keyed is in admission order already: filtering it keeps that order without a second sort.
  const taken = new Set<VisionJobObject>(admit);
  for (const h of atQuota) taken.add(h.job);
  const rest: VisionJobObject[] = [];
  for (const k of keyed) if (!taken.has(k.job)) rest.push(k.job);
  return { admit, atQuota, rest };
}

/** Jobs by tenant. */
export function countByTenant(jobs: Iterable<VisionJobObject>, label: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const j of jobs) {
    const t = tenantOf(j, label);
    n.set(t, (n.get(t) ?? 0) + 1);
  }
  return n;
}

/** Fair share over a pool's strict plan: its waiting jobs, its in-flight jobs by tenant, its free slots. */
export function planTenantAdmission(plan: AdmissionPlan, policy: TenantPolicy): FairSharePlan {
  return planFairShare({
    waiting: plan.waiting,
    inFlight: countByTenant(plan.inFlightJobs, policy.tenantLabel),
    free: Math.max(0, plan.limit - plan.inFlight),
    policy,
  });
}

export function quotaMessage(h: Pick<QuotaHold, 'tenant' | 'limit' | 'inFlight'>, pool: string): string {
  const who = h.tenant === SHARED_TENANT ? 'the shared tenant (no tenant label)' : `tenant ${h.tenant}`;
  return `${who} is at its quota in pool ${pool}: ${h.inFlight}/${h.limit} jobs queued or running (fairSharing maxRunning)`;
}

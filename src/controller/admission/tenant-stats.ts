/**
 * Per-tenant load of a pool, from the informer cache (as pool-load.ts): what the pool status lists
 * and the tenant gauges export. Running = holding a slot (Queued or Running, as fair share counts
 * it); waiting = not admitted yet (suspended jobs excluded, as in pool-load.ts).
 */
import type { TenantStatus } from '../../api/worker-pool.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { isWaiting, jobPool, jobStatus } from './admission-plan.js';
import { tenantOf, tenantPolicy, type FairSharingSpec } from './fair-share.js';

export function tenantStats(jobs: Iterable<VisionJobObject>, namespace: string, pool: string, fairSharing: FairSharingSpec | undefined, limit: number): TenantStatus[] {
  const policy = tenantPolicy(fairSharing);
  const by = new Map<string, { running: number; waiting: number }>();
  for (const job of jobs) {
    if (job.metadata.namespace !== namespace || jobPool(job) !== pool) continue;
    const phase = jobStatus(job).phase;
    const running = phase === 'Queued' || phase === 'Running';
    const waiting = !running && isWaiting(job) && job.spec?.suspend !== true;
    if (!running && !waiting) continue;
    const t = tenantOf(job, policy.tenantLabel);
    const e = by.get(t) ?? { running: 0, waiting: 0 };
    if (running) e.running++;
    else e.waiting++;
    by.set(t, e);
  }
  const out: TenantStatus[] = [...by].map(([name, e]) => ({
    name,
    running: e.running,
    waiting: e.waiting,
    weight: policy.weightOf(name),
    sharePercent: limit > 0 ? Math.min(100, Math.round((100 * e.running) / limit)) : 0,
  }));
  // Most active first; the name makes the order total (a stable status does not get rewritten).
  out.sort((a, b) => b.running + b.waiting - (a.running + a.waiting) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

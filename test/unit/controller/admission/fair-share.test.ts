import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareAdmissionOrder } from '../../../../src/controller/admission/admission-plan.js';
import { planFairShare, quotaMessage, tenantOf, tenantPolicy, type FairSharingSpec } from '../../../../src/controller/admission/fair-share.js';
import type { VisionJobObject } from '../../../../src/controller/manager/context-types.js';
import { makeJob } from '../../../helpers/builders.js';

/** 'a3' = job of tenant a created at t=3; 'a3p5' = with priority 5; '-3' = no tenant label. */
function job(spec: string): VisionJobObject {
  const m = /^([a-z]*|-)(\d+)(?:p(-?\d+))?$/.exec(spec);
  if (!m) throw new Error(`bad job spec ${spec}`);
  const b = makeJob(`j-${spec}`)
    .namespace('ns')
    .created(1_000_000 + Number(m[2]) * 1000)
    .priority(m[3] !== undefined ? Number(m[3]) : undefined);
  if (m[1] !== '-') b.tenant(m[1]!);
  return b.obj();
}

const names = (js: VisionJobObject[]): string[] => js.map((j) => (j.metadata.name ?? '').slice(2));

interface Row {
  name: string;
  waiting: string[];
  inFlight?: Record<string, number>;
  free: number;
  spec?: FairSharingSpec;
  admit: string[];
  atQuota?: string[];
}

const rows: Row[] = [
  { name: 'no free slot admits nothing', waiting: ['a1', 'b2'], free: 0, admit: [] },
  { name: 'enough slots admits everyone in admission order', waiting: ['b2', 'a1', 'a3'], free: 5, admit: ['a1', 'b2', 'a3'] },
  { name: 'one tenant is strict priority then creation', waiting: ['a1', 'a2p5', 'a3'], free: 2, admit: ['a2p5', 'a1'] },
  { name: 'no tenant labels = one shared tenant = strict order', waiting: ['-1', '-2p9', '-3', '-0'], free: 3, admit: ['-2p9', '-0', '-1'] },
  { name: 'a big backlog of one tenant does not block the other', waiting: ['a1', 'a2', 'a3', 'a4', 'b9'], free: 2, admit: ['a1', 'b9'] },
  { name: 'slots alternate between equal tenants', waiting: ['a1', 'a2', 'a3', 'b4', 'b5', 'b6'], free: 4, admit: ['a1', 'b4', 'a2', 'b5'] },
  { name: 'running work counts: the tenant with less in flight goes first', waiting: ['a1', 'b2', 'b3'], inFlight: { a: 2 }, free: 2, admit: ['b2', 'b3'] },
  { name: 'ties go to the tenant whose next job is earlier', waiting: ['b1', 'a2'], inFlight: { a: 1, b: 1 }, free: 1, admit: ['b1'] },
  { name: 'tie broken by priority of the next job (within-tenant scope)', waiting: ['b1', 'a2p3'], free: 1, admit: ['a2p3'] },
  { name: 'weights 3:1 give 3 slots to 1', waiting: ['a1', 'a2', 'a3', 'a4', 'a5', 'b6', 'b7', 'b8'], free: 4, spec: { tenants: { a: { weight: 3 } } }, admit: ['a1', 'b6', 'a2', 'a3'] },
  { name: 'weights apply to work already in flight', waiting: ['a1', 'a2', 'b3', 'b4'], inFlight: { a: 3, b: 0 }, free: 2, spec: { tenants: { a: { weight: 3 } } }, admit: ['b3', 'a1'] },
  { name: 'fractional weight', waiting: ['a1', 'a2', 'b3', 'b4', 'b5'], free: 3, spec: { tenants: { a: { weight: 0.5 } } }, admit: ['a1', 'b3', 'b4'] },
  { name: 'priority stays inside a tenant by default', waiting: ['a1p9', 'a2p9', 'b3'], free: 2, admit: ['a1p9', 'b3'] },
  {
    name: 'AcrossTenants: the highest priority wins across tenants',
    waiting: ['a1p9', 'a2p9', 'b3'],
    free: 2,
    spec: { priorityScope: 'AcrossTenants' },
    admit: ['a1p9', 'a2p9'],
  },
  {
    name: 'AcrossTenants: fair share between equal priorities',
    waiting: ['a1p5', 'a2p5', 'b3p5', 'c0'],
    inFlight: { a: 1 },
    free: 2,
    spec: { priorityScope: 'AcrossTenants' },
    admit: ['b3p5', 'a1p5'],
  },
  { name: 'maxRunningPerTenant holds the rest of a tenant even with free slots', waiting: ['a1', 'a2', 'a3'], free: 3, spec: { maxRunningPerTenant: 2 }, admit: ['a1', 'a2'], atQuota: ['a3'] },
  { name: 'a tenant already at quota gets nothing', waiting: ['a1', 'b2'], inFlight: { a: 2 }, free: 2, spec: { maxRunningPerTenant: 2 }, admit: ['b2'], atQuota: ['a1'] },
  {
    name: 'per-tenant maxRunning overrides the default',
    waiting: ['a1', 'a2', 'a3', 'b4', 'b5'],
    free: 5,
    spec: { maxRunningPerTenant: 1, tenants: { a: { maxRunning: 3 } } },
    admit: ['a1', 'b4', 'a2', 'a3'],
    atQuota: ['b5'],
  },
  { name: 'maxRunning 0 pauses a tenant', waiting: ['a1', 'b2'], free: 2, spec: { tenants: { a: { maxRunning: 0 } } }, admit: ['b2'], atQuota: ['a1'] },
  { name: 'the shared tenant competes as one tenant', waiting: ['-1', '-2', '-3', 'a4'], free: 2, admit: ['-1', 'a4'] },
  { name: 'negative free is no free slot', waiting: ['a1'], free: -2, admit: [] },
];

describe('planFairShare (tables)', () => {
  it.each(rows)('$name', (r) => {
    const plan = planFairShare({ waiting: r.waiting.map(job), inFlight: new Map(Object.entries(r.inFlight ?? {})), free: r.free, policy: tenantPolicy(r.spec) });
    expect(names(plan.admit)).toEqual(r.admit);
    expect(names(plan.atQuota.map((h) => h.job)).sort()).toEqual([...(r.atQuota ?? [])].sort());
    // Every waiting job is in exactly one of the three lists.
    const all = [...names(plan.admit), ...names(plan.atQuota.map((h) => h.job)), ...names(plan.rest)].sort();
    expect(all).toEqual([...r.waiting].sort());
  });

  it('the rest keeps the admission order', () => {
    const plan = planFairShare({ waiting: ['b5', 'a1', 'a3p2', 'c0'].map(job), inFlight: new Map(), free: 1, policy: tenantPolicy(undefined) });
    expect(names(plan.admit)).toEqual(['a3p2']);
    expect(names(plan.rest)).toEqual(['c0', 'a1', 'b5']);
  });

  it('a custom tenant label', () => {
    const j = makeJob('x').obj();
    j.metadata.labels = { team: 'vision' };
    expect(tenantOf(j, 'team')).toBe('vision');
    expect(tenantOf(j, 'visionq.dev/tenant')).toBe('');
    expect(tenantPolicy({ tenantLabel: 'team' }).tenantLabel).toBe('team');
    expect(tenantPolicy({}).tenantLabel).toBe('visionq.dev/tenant');
  });

  it('ignores unusable weights and inherited object keys', () => {
    const p = tenantPolicy({ tenants: { a: { weight: 0 }, b: { weight: -1 } } });
    expect([p.weightOf('a'), p.weightOf('b'), p.weightOf('constructor'), p.maxRunningOf('toString')]).toEqual([1, 1, 1, undefined]);
  });

  it('the quota message names the tenant, the limit and the numbers', () => {
    expect(quotaMessage({ tenant: 'acme', limit: 2, inFlight: 2 }, 'gpu')).toBe('tenant acme is at its quota in pool gpu: 2/2 jobs queued or running (fairSharing maxRunning)');
    expect(quotaMessage({ tenant: '', limit: 1, inFlight: 1 }, 'gpu')).toMatch(/^the shared tenant/);
  });
});

// ---- properties ----------------------------------------------------------------------------

const TENANTS = ['a', 'b', 'c', 'd', '-'];

const jobArb = fc.record({ tenant: fc.constantFrom(...TENANTS), t: fc.integer({ min: 0, max: 50 }), p: fc.integer({ min: -2, max: 2 }) });
const specArb: fc.Arbitrary<FairSharingSpec> = fc.record(
  {
    priorityScope: fc.constantFrom('WithinTenant' as const, 'AcrossTenants' as const),
    maxRunningPerTenant: fc.integer({ min: 0, max: 6 }),
    tenants: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.record({ weight: fc.integer({ min: 1, max: 5 }), maxRunning: fc.integer({ min: 0, max: 6 }) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

let seq = 0;
function build(js: { tenant: string; t: number; p: number }[]): VisionJobObject[] {
  return js.map((j) => {
    const b = makeJob(`p-${seq++}`).namespace('ns').created(1_000_000 + j.t * 1000).priority(j.p);
    if (j.tenant !== '-') b.tenant(j.tenant);
    return b.obj();
  });
}

describe('planFairShare (properties)', () => {
  it('never admits more than the free slots, never over a tenant quota, and is work-conserving', () => {
    fc.assert(
      fc.property(fc.array(jobArb, { maxLength: 40 }), fc.integer({ min: 0, max: 12 }), specArb, fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 4 })), (js, free, spec, inFlightObj) => {
        const policy = tenantPolicy(spec);
        const inFlight = new Map(Object.entries(inFlightObj));
        const waiting = build(js);
        const plan = planFairShare({ waiting, inFlight, free, policy });
        expect(plan.admit.length).toBeLessThanOrEqual(free);
        const admitted = new Map<string, number>();
        for (const j of plan.admit) {
          const t = tenantOf(j, policy.tenantLabel);
          admitted.set(t, (admitted.get(t) ?? 0) + 1);
        }
        for (const [t, n] of admitted) {
          const limit = policy.maxRunningOf(t);
          if (limit !== undefined) expect((inFlight.get(t) ?? 0) + n).toBeLessThanOrEqual(limit);
        }
        // A slot stays free only when no waiting job could take it.
        if (plan.admit.length < free) expect(plan.rest).toEqual([]);
        // Inside a tenant, admitted jobs precede the tenant's waiting ones in admission order.
        for (const r of plan.rest) {
          const t = tenantOf(r, policy.tenantLabel);
          for (const a of plan.admit) if (tenantOf(a, policy.tenantLabel) === t) expect(compareAdmissionOrder(a, r)).toBeLessThan(0);
        }
        expect(plan.admit.length + plan.atQuota.length + plan.rest.length).toBe(waiting.length);
      }),
      { numRuns: 300 },
    );
  });

  it('with one tenant it is exactly the strict admission order', () => {
    fc.assert(
      fc.property(fc.array(jobArb, { maxLength: 30 }), fc.integer({ min: 0, max: 40 }), (js, free) => {
        const waiting = build(js.map((j) => ({ ...j, tenant: '-' })));
        const plan = planFairShare({ waiting, inFlight: new Map(), free, policy: tenantPolicy(undefined) });
        expect(plan.admit).toEqual([...waiting].sort(compareAdmissionOrder).slice(0, free));
      }),
    );
  });

  /** Passes over a saturated pool where running jobs finish at random. */
  function simulate(opts: { limit: number; weights: Record<string, number>; passes: number; backlog: number; rand: () => number; spec?: FairSharingSpec }) {
    const policy = tenantPolicy({ ...opts.spec, tenants: Object.fromEntries(Object.entries(opts.weights).map(([t, w]) => [t, { weight: w }])) });
    const tenants = Object.keys(opts.weights);
    const waiting = new Map(tenants.map((t) => [t, build(Array.from({ length: opts.backlog }, (_, i) => ({ tenant: t, t: i, p: 0 })))]));
    const running: VisionJobObject[] = [];
    const admittedBy = new Map(tenants.map((t) => [t, 0]));
    const firstAdmitted = new Map<string, number>();
    const runningSamples = new Map(tenants.map((t) => [t, 0]));
    for (let pass = 0; pass < opts.passes; pass++) {
      // Jobs finish at random: each running job ends with probability 0.3.
      for (let i = running.length - 1; i >= 0; i--) if (opts.rand() < 0.3) running.splice(i, 1);
      const inFlight = new Map<string, number>();
      for (const j of running) inFlight.set(tenantOf(j, policy.tenantLabel), (inFlight.get(tenantOf(j, policy.tenantLabel)) ?? 0) + 1);
      const all = tenants.flatMap((t) => waiting.get(t)!);
      const plan = planFairShare({ waiting: all, inFlight, free: opts.limit - running.length, policy });
      for (const j of plan.admit) {
        const t = tenantOf(j, policy.tenantLabel);
        running.push(j);
        waiting.set(t, waiting.get(t)!.filter((w) => w !== j));
        admittedBy.set(t, admittedBy.get(t)! + 1);
        if (!firstAdmitted.has(t)) firstAdmitted.set(t, pass);
        // Saturation: every tenant keeps at least `backlog` jobs waiting (a slot's worth each).
        waiting.get(t)!.push(...build([{ tenant: t, t: 100 + pass, p: 0 }]));
      }
      for (const j of running) runningSamples.set(tenantOf(j, policy.tenantLabel), runningSamples.get(tenantOf(j, policy.tenantLabel))! + 1);
    }
    return { admittedBy, firstAdmitted, runningSamples };
  }

  it('never starves a tenant with waiting work under saturation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 1, max: 5 }), { minKeys: 1 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (limit, weights, stream) => {
          const it = stream[Symbol.iterator]();
          const { firstAdmitted } = simulate({ limit, weights, passes: 200, backlog: 3, rand: () => it.next().value as number });
          for (const t of Object.keys(weights)) expect(firstAdmitted.has(t), `tenant ${t} never admitted`).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('converges to the weights under saturation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (limit, wa, wb, stream) => {
          const it = stream[Symbol.iterator]();
          const { runningSamples } = simulate({ limit, weights: { a: wa, b: wb }, passes: 400, backlog: limit, rand: () => it.next().value as number });
          const share = runningSamples.get('a')! / (runningSamples.get('a')! + runningSamples.get('b')!);
          // Integer slots: the ideal split of `limit` rounds by at most one slot each way.
          const ideal = wa / (wa + wb);
          expect(Math.abs(share - ideal)).toBeLessThanOrEqual(1 / limit + 0.02);
        },
      ),
      { numRuns: 40 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { tenantStats } from '../../../../src/controller/admission/tenant-stats.js';
import { recordTenantLoad, workerPoolMetrics, forgetPoolMetrics } from '../../../../src/controller/workerpool/workerpool-metrics.js';
import { makeJob } from '../../../helpers/builders.js';

describe('tenantStats', () => {
  it('counts in-flight and waiting jobs per tenant with weight and share, most active first', () => {
    const jobs = [
      makeJob('a1').namespace('ns').tenant('a').phase('Running').obj(),
      makeJob('a2').namespace('ns').tenant('a').phase('Queued').obj(),
      makeJob('a3').namespace('ns').tenant('a').obj(),
      makeJob('b1').namespace('ns').tenant('b').obj(),
      makeJob('s1').namespace('ns').phase('Running').obj(),
      makeJob('done').namespace('ns').tenant('c').phase('Succeeded').obj(),
      makeJob('susp').namespace('ns').tenant('d').spec({ suspend: true }).obj(),
      makeJob('other').namespace('ns').tenant('e').pool('cpu').obj(),
    ];
    expect(tenantStats(jobs, 'ns', 'gpu', { tenants: { a: { weight: 3 } } }, 4)).toEqual([
      { name: 'a', running: 2, waiting: 1, weight: 3, sharePercent: 50 },
      { name: '', running: 1, waiting: 0, weight: 1, sharePercent: 25 },
      { name: 'b', running: 0, waiting: 1, weight: 1, sharePercent: 0 },
    ]);
  });

  it('reads the configured tenant label', () => {
    const j = makeJob('x').namespace('ns').obj();
    j.metadata.labels = { team: 't1' };
    expect(tenantStats([j], 'ns', 'gpu', { tenantLabel: 'team' }, 0).map((t) => [t.name, t.sharePercent])).toEqual([['t1', 0]]);
  });
});

describe('recordTenantLoad', () => {
  it('sets the gauges and removes the series of tenants that went away', async () => {
    const registry = new Registry();
    const m = workerPoolMetrics(registry);
    const seen = recordTenantLoad(m, 'ns', 'gpu', [
      { name: 'a', running: 2, waiting: 5 },
      { name: 'b', running: 1, waiting: 0 },
    ]);
    const text1 = await registry.metrics();
    expect(text1).toContain('visionq_tenant_running_jobs{namespace="ns",pool="gpu",tenant="a"} 2');
    expect(text1).toContain('visionq_tenant_waiting_jobs{namespace="ns",pool="gpu",tenant="a"} 5');
    const seen2 = recordTenantLoad(m, 'ns', 'gpu', [{ name: 'a', running: 1, waiting: 0 }], seen);
    const text2 = await registry.metrics();
    expect(text2).not.toContain('tenant="b"');
    expect([...seen2]).toEqual(['a']);
    forgetPoolMetrics(m, 'ns', 'gpu', seen2);
    expect(await registry.metrics()).not.toContain('tenant="a"');
  });
});

/**
 * Dashboard with many jobs in real Chromium: N VisionJobs (default 5,000) with mixed phases in the
 * in-memory sandbox API server (no controller), the dashboard server in this process, Debian's
 * Chromium through playwright-core. Measures
 * - time to first render: navigation start → the first rows in the DOM (the page's own
 *   performance.now(), which counts from navigation start), over several fresh loads;
 * - per-update cost: status patches of running jobs (progress) flow API server → informer →
 *   SSE batch → browser; each batch's time from its arrival to the DOM reflecting it (JSON parse,
 *   store update, filter + sort of all rows, windowed re-render, chart setData).
 * Run: npx tsx bench/dashboard-render.ts   (BENCH_JOBS default 5000, BENCH_LOADS default 5)
 */
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { mergePatchCustomObjectStatus } from '../src/kube/kube-patch.js';
import { startDashboardServer } from '../src/dashboard/dashboard-server.js';
import { installCrds, readCrds } from '../src/sandbox/crd-installer.js';
import { packageRoot } from '../src/sandbox/package-root.js';
import { launchChromium, type PageGlobals } from '../test/helpers/chromium.js';
import { startSandboxApi } from '../test/helpers/sandbox-api.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { percentile, writeResult } from './report-util.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const LOADS = Number(process.env.BENCH_LOADS ?? 5);
const POOLS = 5;
const NS = 'default';
const G = { group: 'visionq.dev', version: 'v1alpha1' };

const api = await startSandboxApi();
const custom = api.kc.makeApiClient(CustomObjectsApi);
await installCrds(api.kc, await readCrds(join(packageRoot, 'crds')));

async function pool(i: number): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...G, namespace: NS, plural: 'workerpools',
    body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: `pool-${i}` },
      spec: { minReplicas: 0, maxReplicas: 8, slotsPerWorker: 2, template: { spec: { containers: [{ name: 'algorithm', image: 'x' }] } } },
    },
  });
  await mergePatchCustomObjectStatus(custom, { ...G, namespace: NS, plural: 'workerpools', name: `pool-${i}` }, {
    status: { replicas: 8, ready: 8, busy: 8, idle: 0, pending: 0, queued: 100, running: 16 },
  });
}

const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const phases = ['Running', 'Running', 'Queued', 'Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Pending'] as const;
const running: string[] = [];

async function job(i: number): Promise<void> {
  const name = `job-${String(i).padStart(5, '0')}`;
  const phase = phases[i % phases.length]!;
  await custom.createNamespacedCustomObject({
    ...G, namespace: NS, plural: 'visionjobs',
    body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'VisionJob',
      metadata: { name, labels: { 'visionq.dev/tenant': `tenant-${i % 7}` } },
      spec: { pool: `pool-${i % POOLS}`, input: { video: `s3://videos/${i}.mp4` } },
    },
  });
  const queuedAt = now - 30 * 60_000 + (i * 29 * 60_000) / JOBS;
  const startTime = queuedAt + 5_000 + (i % 13) * 1_000;
  const status: Record<string, unknown> = { phase, attempts: phase === 'Pending' || phase === 'Queued' ? 0 : 1, queuedAt: iso(queuedAt) };
  if (phase !== 'Pending' && phase !== 'Queued') Object.assign(status, { startTime: iso(startTime), progress: { percent: 10, message: 'frame 100' } });
  if (phase === 'Succeeded' || phase === 'Failed') {
    Object.assign(status, { completionTime: iso(startTime + 20_000 + (i % 17) * 3_000), progress: { percent: phase === 'Succeeded' ? 100 : 60 } });
  }
  if (phase === 'Failed') status.conditions = [{ type: 'Failed', status: 'True', reason: 'PermanentFailure', message: 'exit code 3', lastTransitionTime: iso(now) }];
  if (phase === 'Running') running.push(name);
  await mergePatchCustomObjectStatus(custom, { ...G, namespace: NS, plural: 'visionjobs', name }, { status });
}

async function parallel(n: number, concurrency: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await f(next++);
  }));
}

const tSeed = Date.now();
await parallel(POOLS, POOLS, pool);
await parallel(JOBS, 16, job);
const seedMs = Date.now() - tSeed;

const server = await startDashboardServer({ kc: api.kc, namespace: NS, port: 0 });
const browser = await launchChromium({ width: 1400, height: 1000 });
try {
  // ---- time to first render, fresh page each time ----
  const firstRows: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(server.url);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__dashboardStats?.firstRowsMs !== undefined && (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-job]').length > 0, undefined, { timeout: 60_000 });
    wall.push(Date.now() - t0);
    firstRows.push(await page.evaluate(() => (globalThis as unknown as PageGlobals).__dashboardStats.firstRowsMs!));
    await page.close();
  }
  // ---- per-update cost ----
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__dashboardStats?.firstRowsMs !== undefined);
  const snapshotBytes = (await (await fetch(`${server.url}/api/snapshot`)).text()).length;
  const domRows = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-job]').length);
  const shown = await page.locator('[data-testid="shown"]').textContent();
  const ROUNDS = 20;
  const PER_ROUND = Math.min(250, running.length);
  for (let r = 0; r < ROUNDS; r++) {
    const batch = running.slice((r * PER_ROUND) % running.length).concat(running).slice(0, PER_ROUND);
    await parallel(batch.length, 16, (k) =>
      mergePatchCustomObjectStatus(custom, { ...G, namespace: NS, plural: 'visionjobs', name: batch[k]! }, {
        status: { progress: { percent: 10 + ((r * 4) % 90), message: `frame ${r}` }, lastHeartbeatTime: iso(Date.now()) },
      }).then(() => undefined),
    );
  }
  const expectRows = ROUNDS * PER_ROUND;
  await waitFor(async () => (await page.evaluate(() => (globalThis as unknown as PageGlobals).__dashboardStats.rowsUpdated)) >= expectRows, { timeoutMs: 60_000, intervalMs: 200, message: 'all updates applied' });
  // Only the renders of this page's update phase (the first one is the initial render).
  const stats = await page.evaluate(() => (globalThis as unknown as PageGlobals).__dashboardStats);
  const renders = stats.renderMs.slice(1);
  const apply = stats.batchApplyMs;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const result = {
    jobs: JOBS,
    pools: POOLS,
    seedMs,
    snapshotBytes,
    domRowsRendered: domRows,
    shown,
    firstRender: { loads: LOADS, firstRowsMsMedian: r1(percentile(firstRows, 50)), firstRowsMs: firstRows.map(r1), gotoToRowsWallMs: wall },
    updates: {
      statusPatches: expectRows,
      batches: stats.batches,
      rowsPerBatchAvg: r1(stats.rowsUpdated / Math.max(1, stats.batches)),
      applyMsP50: r1(percentile(apply, 50)),
      applyMsP95: r1(percentile(apply, 95)),
      applyMsMax: r1(Math.max(...apply)),
      parseMsP50: r1(percentile(stats.batchParseMs, 50)),
      parseMsP95: r1(percentile(stats.batchParseMs, 95)),
      renders: renders.length,
      renderMsP50: r1(percentile(renders, 50)),
      renderMsP95: r1(percentile(renders, 95)),
      renderMsMax: r1(Math.max(...renders)),
    },
    chromium: await browser.context.browser()?.version(),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${await writeResult('dashboard-render', result)}`);
  await page.close();
} finally {
  await browser.close();
  await server.stop();
  await api.cleanup();
}

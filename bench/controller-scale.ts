/**
 * Controller footprint with many VisionJobs: the controller runs as its own process (so its RSS
 * is its own) against the sandbox; N jobs (default 10,000) wait on a pool that is at capacity.
 * Reports the controller's RSS, heap and event-loop lag once every job has been reconciled. The
 * controller runs from source through tsx unless BENCH_CONTROLLER_JS names a built entry; the tsx
 * loader alone adds ~150 MB of RSS.
 * Run: npx tsx bench/controller-scale.ts   (BENCH_JOBS default 10000)
 */
import { readFile } from 'node:fs/promises';
import { createJob, createPool, startHarness, probePool, probeJob } from '../test/e2e/harness.js';
import { freePort } from '../test/helpers/free-port.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { writeResult } from './controller-bench-util.js';

const jobs = Number(process.env.BENCH_JOBS ?? 10_000);
const h = await startHarness({ nodes: 1, gpusPerNode: 1, controller: false });
try {
  const port = await freePort();
  // BENCH_CONTROLLER_JS: a built controller entry (e.g. dist/controller/main.js) instead of tsx.
  // BENCH_NODE_FLAGS: e.g. --max-old-space-size=160, to show what the controller really retains.
  // Defaults measure what the chart deploys: the built controller with its heap cap.
  const flags = (process.env.BENCH_NODE_FLAGS ?? '--max-old-space-size=256').split(' ').filter(Boolean);
  const entry = [...flags, process.env.BENCH_CONTROLLER_JS ?? 'dist/controller/main.js'];
  const child = h.spawnController('ctl-scale', ['--metrics-port', String(port), '--health-port', String(port)], entry);
  const rssMb = async (): Promise<number> => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  };
  /** One scrape (a scrape resets the event-loop lag histogram), values by metric name. */
  const scrape = async (): Promise<(name: string) => number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return (name) => Number(new RegExp(`^visionq_controller_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, { timeoutMs: 60_000, message: 'controller ready' });
  const idleRss = await rssMb();
  // At capacity: one job is published (its worker can never be scheduled), the rest wait.
  await createPool(h, probePool(h, 'big', { minReplicas: 0, maxReplicas: 1 }, 64));
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs) {
        const i = next++;
        await createJob(h, probeJob(`s-${i}`, 'big', { video: `v-${i}.mp4` }));
      }
    }),
  );
  const createdMs = Date.now() - t0;
  await waitFor(
    () => h.jobs.store.list().filter((j) => j.status?.phase === 'Queued' || j.status?.conditions?.some((c) => c.reason === 'PoolAtCapacity')).length >= jobs,
    { timeoutMs: 30 * 60_000, intervalMs: 500, message: 'every job admitted or waiting with PoolAtCapacity' },
  );
  const settledMs = Date.now() - t0;
  // Let the allocation storm's garbage be collected: steady state is what a cluster sees.
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 15_000)));
  const m = await scrape();
  const result = {
    jobs,
    entry: entry ? `node ${flags.join(' ')} built js`.replace('  ', ' ') : 'tsx',
    controllerAlive: child.exitCode === null,
    createAllMs: createdMs,
    allReconciledMs: settledMs,
    controllerRssIdleMb: idleRss,
    controllerRssMb: await rssMb(),
    controllerHeapUsedMb: mb(m('nodejs_heap_size_used_bytes')),
    controllerHeapTotalMb: mb(m('nodejs_heap_size_total_bytes')),
    controllerExternalMb: mb(m('nodejs_external_memory_bytes')),
    eventLoopLagP99Ms: Math.round(m('nodejs_eventloop_lag_p99_seconds') * 1000 * 10) / 10,
    eventLoopLagMaxMs: Math.round(m('nodejs_eventloop_lag_max_seconds') * 1000 * 10) / 10,
  };
  console.table({ scale: result });
  console.log('written', await writeResult('controller-scale', { result }));
  child.kill('SIGTERM');
} finally {
  await h.stop();
}

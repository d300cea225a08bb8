/**
 * Client watch resume: how long after the API server drops a watch (or answers 410 Expired)
 * does VisionQ.watch() deliver the next status change? Each round drops every watch and at once
 * writes a new status.progress; the time from the drop to the iterator yielding that status is
 * the resume cost (re-watch from the last resourceVersion, or relist after 410). A round without
 * a fault is the baseline. Rounds are spaced 1.2 s apart: the informer backs off a watch that
 * lived under 1 s (a server ending watches at once must not become a busy loop).
 * Run: npx tsx bench/client-watch-resume.ts [rounds=20]
 */
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { VisionQ, type VisionJob } from '../src/client/index.js';
import { installCrds, readCrds } from '../src/sandbox/crd-installer.js';
import { startSandboxApi } from '../test/helpers/sandbox-api.js';
import { REPO, percentile, writeResult } from './report-util.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const GROUP = 'visionq.dev';
const VERSION = 'v1alpha1';
const NS = 'default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const api = await startSandboxApi({ bookmarkIntervalMs: 5_000 });
try {
  await installCrds(api.kc, await readCrds(join(REPO, 'crds')));
  const vq = new VisionQ({ kubeconfig: api.kubeconfigPath, namespace: NS });
  const custom = api.kc.makeApiClient(CustomObjectsApi);
  const job = await vq.submit({ pool: 'bench', input: {} }, { idempotencyKey: 'watch-resume' });
  const name = job.metadata.name!;
  let percent = 0;
  const setProgress = (p: number) =>
    custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', name, body: { status: { phase: 'Running', progress: { percent: p } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  // One long-lived watch for the whole run, as a backend following a job would hold it.
  const waiters = new Map<number, (at: number) => void>();
  const consuming = (async () => {
    for await (const s of vq.watch(name) as AsyncGenerator<VisionJob>) {
      const p = s.status?.progress?.percent;
      if (p !== undefined) waiters.get(p)?.(performance.now());
    }
  })();
  const delivered = (p: number) => new Promise<number>((r) => waiters.set(p, r));

  const modes = { baseline: [] as number[], dropped: [] as number[], expired: [] as number[] };
  await setProgress(++percent % 100);
  await delivered(percent);
  await sleep(1200);
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ['baseline', 'dropped', 'expired'] as const) {
      percent = (percent % 99) + 1;
      const arrived = delivered(percent);
      const t0 = performance.now();
      if (mode === 'expired') api.server.faults.expireWatches({ count: 1 });
      if (mode !== 'baseline') api.server.faults.dropWatches();
      await setProgress(percent);
      modes[mode].push((await arrived) - t0);
      await sleep(1200);
    }
  }
  const rows = Object.entries(modes).map(([mode, s]) => ({
    mode,
    n: s.length,
    p50Ms: +percentile(s, 50).toFixed(1),
    p90Ms: +percentile(s, 90).toFixed(1),
    maxMs: +Math.max(...s).toFixed(1),
  }));
  console.table(rows);
  console.log(`wrote ${await writeResult('client-watch-resume', { rounds: ROUNDS, rows })}`);
  await vq.cancel(name);
  await Promise.race([consuming, sleep(2000)]);
} finally {
  await api.cleanup();
}

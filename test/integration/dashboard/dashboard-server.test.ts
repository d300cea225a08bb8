/**
 * The dashboard server over HTTP against the in-memory sandbox API server (no controller, no
 * browser): snapshot, the SSE stream (snapshot first, then only rows that visibly changed),
 * job detail, refusals, and the static bundle.
 */
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../../src/dashboard/dashboard-server.js';
import type { ChangeBatch, Snapshot } from '../../../src/dashboard/view-model.js';
import { mergePatchCustomObjectStatus } from '../../../src/kube/kube-patch.js';
import { installCrds, readCrds } from '../../../src/sandbox/crd-installer.js';
import { packageRoot } from '../../../src/sandbox/package-root.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { waitFor } from '../../helpers/wait-for.js';

const NS = 'default';
const G = { group: 'visionq.dev', version: 'v1alpha1' };
let api: SandboxApi;
let custom: CustomObjectsApi;
let server: DashboardServer;

async function createJob(name: string, labels: Record<string, string> = {}): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...G, namespace: NS, plural: 'visionjobs',
    body: { apiVersion: 'visionq.dev/v1alpha1', kind: 'VisionJob', metadata: { name, labels }, spec: { pool: 'gpu' } },
  });
}

const patchStatus = (name: string, status: Record<string, unknown>) =>
  mergePatchCustomObjectStatus(custom, { ...G, namespace: NS, plural: 'visionjobs', name }, { status });

/** Reads Server-Sent Events off a fetch body. */
class SseReader {
  readonly events: Array<{ event: string; data: unknown }> = [];
  private readonly ctrl = new AbortController();
  private buf = '';
  constructor(url: string) {
    void fetch(url, { signal: this.ctrl.signal }).then(async (res) => {
      const dec = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = this.buf.indexOf('\n\n')) >= 0) {
          const block = this.buf.slice(0, i);
          this.buf = this.buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) this.events.push({ event, data: JSON.parse(data) });
        }
      }
    }).catch(() => undefined);
  }
  changes(): Array<ChangeBatch & { details: string[] }> {
    return this.events.filter((e) => e.event === 'change').map((e) => e.data as ChangeBatch & { details: string[] });
  }
  close(): void {
    this.ctrl.abort();
  }
}

beforeAll(async () => {
  api = await startSandboxApi();
  custom = api.kc.makeApiClient(CustomObjectsApi);
  await installCrds(api.kc, await readCrds(join(packageRoot, 'crds')));
  await custom.createNamespacedCustomObject({
    ...G, namespace: NS, plural: 'workerpools',
    body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'gpu' },
      spec: { maxReplicas: 3, slotsPerWorker: 2, template: { spec: { containers: [{ name: 'algorithm', image: 'x' }] } } },
    },
  });
  await createJob('first', { 'visionq.dev/tenant': 'acme' });
  server = await startDashboardServer({ kc: api.kc, namespace: NS, port: 0, batchMs: 20 });
});

afterAll(async () => {
  await server?.stop();
  await api?.cleanup();
});

describe('dashboard server', () => {
  it('serves a snapshot of pools and jobs', async () => {
    const s = (await (await fetch(`${server.url}/api/snapshot`)).json()) as Snapshot;
    expect(s).toMatchObject({ namespace: NS, allowCancel: false });
    expect(s.pools).toEqual([expect.objectContaining({ key: `${NS}/gpu`, capacity: 6, maxReplicas: 3, slotsPerWorker: 2 })]);
    expect(s.jobs).toEqual([expect.objectContaining({ key: `${NS}/first`, tenant: 'acme', phase: 'Pending', pool: 'gpu' })]);
  });

  it('streams a snapshot, then batches of rows that changed visibly, from one set of informers', async () => {
    const watchesBefore = server.state.jobs.stats.watches;
    const sse = new SseReader(`${server.url}/api/events`);
    try {
      await waitFor(() => sse.events[0], { timeoutMs: 10_000, message: 'snapshot event' });
      expect(sse.events[0]!.event).toBe('snapshot');
      expect((sse.events[0]!.data as Snapshot).jobs.map((j) => j.name)).toEqual(['first']);
      await waitFor(() => server.clients() === 1, { timeoutMs: 5_000, message: 'client registered' });

      await patchStatus('first', { phase: 'Running', progress: { percent: 42, message: 'frame 42' }, startTime: new Date().toISOString() });
      const batch = await waitFor(() => sse.changes().find((c) => c.jobs.upsert.some((r) => r.percent === 42)), { timeoutMs: 10_000, message: 'progress batch' });
      expect(batch.jobs.upsert).toEqual([expect.objectContaining({ key: `${NS}/first`, phase: 'Running', progressMessage: 'frame 42' })]);
      expect(batch.details).toContain(`${NS}/first`);

      // A heartbeat-only write changes nothing the list shows: no row goes out, only a detail ping.
      const rowsBefore = sse.changes().flatMap((c) => c.jobs.upsert).length;
      await patchStatus('first', { lastHeartbeatTime: new Date().toISOString() });
      await createJob('second');
      await waitFor(() => sse.changes().some((c) => c.jobs.upsert.some((r) => r.name === 'second')), { timeoutMs: 10_000, message: 'second job' });
      const after = sse.changes().flatMap((c) => c.jobs.upsert).slice(rowsBefore);
      expect(after.map((r) => r.name)).toEqual(['second']);

      await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, plural: 'visionjobs', name: 'second' });
      await waitFor(() => sse.changes().some((c) => c.jobs.remove.includes(`${NS}/second`)), { timeoutMs: 10_000, message: 'removal' });
      // The browser's stream added no watch of its own.
      expect(server.state.jobs.stats.watches).toBe(watchesBefore);
    } finally {
      sse.close();
    }
    await waitFor(() => server.clients() === 0, { timeoutMs: 5_000, message: 'client gone' });
  });

  it('answers the job detail, and refuses what it must', async () => {
    const d = (await (await fetch(`${server.url}/api/job?namespace=${NS}&name=first`)).json()) as { job: { metadata: { name: string } }; events: unknown[]; pod: unknown };
    expect(d.job.metadata.name).toBe('first');
    expect(d.pod).toBeNull();
    expect((await fetch(`${server.url}/api/job?namespace=${NS}&name=nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/job?namespace=other&name=first`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/job`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/log?namespace=${NS}&name=first`)).status).toBe(404);
    const del = await fetch(`${server.url}/api/job?namespace=${NS}&name=first`, { method: 'DELETE' });
    expect(del.status).toBe(403);
    expect(((await del.json()) as { error: string }).error).toMatch(/--allow-cancel/);
    const still = await custom.getNamespacedCustomObject({ ...G, namespace: NS, plural: 'visionjobs', name: 'first' });
    expect((still as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp).toBeUndefined();
  });

  it('serves the page and the built bundle, nothing outside it', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('/assets/main.js');
    const js = await fetch(`${server.url}/assets/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/assets/main.css`)).status).toBe(200);
    expect((await fetch(`${server.url}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});

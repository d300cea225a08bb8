/**
 * examples/platform-backend/server.mjs against the sandbox: submit over HTTP with an
 * idempotency key, follow progress as Server-Sent Events, cancel with DELETE.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The published entry point (dist/), as the example itself imports it: one copy of the error classes.
import { VisionQ } from 'visionq/client';
import { createPool, NS, probePool, startHarness, waitPhase, type Harness } from '../../e2e/harness.js';
// @ts-expect-error: a plain .mjs example without type declarations
import { createBackend } from '../../../examples/platform-backend/server.mjs';

/** Response bodies of the example are untyped JSON. */
const json = (r: Response): Promise<any> => r.json();

interface SseEvent {
  event: string;
  data: any;
}

/** Reads a whole SSE response (the backend ends it when the job is done). */
async function readSse(res: Response, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null');
      out.push({ event, data });
      onEvent?.({ event, data });
    }
  }
  return out;
}

describe('examples/platform-backend', () => {
  let h: Harness;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'videos', { minReplicas: 1, maxReplicas: 2 }));
    server = createBackend(new VisionQ({ kubeconfig: h.sandbox.kubeconfigPath, namespace: NS })) as Server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await h?.stop();
  });

  const post = (body: unknown, key?: string) =>
    fetch(`${base}/videos`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}) }, body: JSON.stringify(body) });

  it('POST /videos twice with one Idempotency-Key makes one job; its events stream to Succeeded', async () => {
    const body = { video: 'cam-7.mp4', pool: 'videos', tenant: 'acme', options: { durationSeconds: 2 } };
    const a = await post(body, 'upload-7');
    const b = await post(body, 'upload-7');
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    const ja = await json(a);
    const jb = await json(b);
    expect(jb.name).toBe(ja.name);
    expect(ja.tenant).toBe('acme');

    const res = await fetch(`${base}/jobs/${ja.name}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = await readSse(res);
    expect(events[events.length - 1]!.event).toBe('end');
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data);
    expect(statuses.some((s) => s.phase === 'Running' && s.progress?.percent > 0)).toBe(true);
    expect(statuses[statuses.length - 1]).toMatchObject({ phase: 'Succeeded', result: { video: 'cam-7.mp4' } });

    const get = await json(await fetch(`${base}/jobs/${ja.name}`));
    expect(get.phase).toBe('Succeeded');
    const jobs = await new VisionQ({ kubeconfig: h.sandbox.kubeconfigPath, namespace: NS }).list({ tenant: 'acme' });
    expect(jobs.length).toBe(1);
  });

  it('answers 422 naming the field, 400 without a key, 404 for an unknown job', async () => {
    const bad = await post({ video: 'x.mp4', pool: 'No_Such_Pool' }, 'bad-1');
    expect(bad.status).toBe(422);
    expect((await json(bad)).fields).toContain('spec.pool');
    expect((await post({ video: 'x.mp4', pool: 'videos' })).status).toBe(400);
    expect((await fetch(`${base}/jobs/nope/events`)).status).toBe(404);
    expect((await fetch(`${base}/jobs/nope`)).status).toBe(404);
  });

  it('DELETE /jobs/:name cancels a running job and its event stream ends', async () => {
    const created = await json(await post({ video: 'long.mp4', pool: 'videos', options: { durationSeconds: 30 } }, 'long-1'));
    await waitPhase(h, created.name, 'Running');
    const res = await fetch(`${base}/jobs/${created.name}/events`);
    let sawRunning!: () => void;
    const running = new Promise<void>((r) => (sawRunning = r));
    const streaming = readSse(res, (e) => e.data?.phase === 'Running' && sawRunning());
    await running;
    const del = await fetch(`${base}/jobs/${created.name}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    const events = await streaming;
    expect(events[events.length - 1]!.event).toBe('end');
    expect(events.filter((e) => e.event === 'status').some((e) => e.data.deleted)).toBe(true);
  });
});

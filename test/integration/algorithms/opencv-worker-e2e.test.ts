/**
 * The OpenCV worker end to end: a WorkerPool whose container command is the worker, jobs
 * submitted with the typed client, run by the real agent in sandbox worker pods. The result must
 * reach status.result, progress must be reported, and an unreadable video must fail the job at
 * once through permanentExitCodes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobFailedError, VisionQ, type VisionJob } from '../../../src/client/index.js';
import { GROUP, NS, probePool, startHarness, VERSION, type Harness } from '../../e2e/harness.js';
import { SYSTEM_PYTHON, WORKER, makeVideo } from './worker-video.js';

describe('opencv-worker through the agent', () => {
  let h: Harness;
  let vq: VisionQ;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'visionq-opencv-e2e-'));
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    const pool = probePool(h, 'opencv', { minReplicas: 1, maxReplicas: 1, permanentExitCodes: [3] });
    const container = (pool.spec as any).template.spec.containers[0];
    container.command = [SYSTEM_PYTHON, WORKER];
    container.image = 'visionq/opencv-worker:dev';
    await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: pool });
    vq = new VisionQ({ kubeconfig: h.sandbox.kubeconfigPath, namespace: NS });
  });
  afterAll(async () => {
    await h?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a video job to Succeeded with per-segment detections and a key frame', async () => {
    const video = join(dir, 'cam.mp4');
    await makeVideo(video, 4, 10, [{ start: 1, end: 3, x0: 10, y0: 100, x1: 270, y1: 100, size: 30 }]);
    const job = await vq.submit({ pool: 'opencv', input: { video, outputDir: join(dir, 'out'), pace: 'realtime' } }, { idempotencyKey: 'cam-1' });
    const seen: VisionJob[] = [];
    for await (const s of vq.watch(job.metadata.name!)) seen.push(s);
    const last = seen[seen.length - 1]!;
    expect(last.status?.phase).toBe('Succeeded');
    // Paced at the video's rate, the worker reports progress before it finishes.
    expect(seen.some((s) => s.status?.phase === 'Running' && (s.status.progress?.percent ?? 0) > 0 && s.status.progress!.percent < 100)).toBe(true);
    const result = await vq.result<{ frames: number; segments: Array<{ start: number; end: number; motionBox: number[] }>; keyFrame: { path: string } }>(job.metadata.name!);
    expect(result.frames).toBe(40);
    expect(result.segments.map((s) => [s.start, s.end])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(result.segments.every((s) => s.motionBox[1]! >= 90 && s.motionBox[1]! + s.motionBox[3]! <= 140)).toBe(true);
    expect(result.keyFrame.path).toBe(join(dir, 'out', `${job.metadata.name}-keyframe.jpg`));
    expect(existsSync(result.keyFrame.path)).toBe(true);
  });

  it('fails a job with an unreadable video at once (exit 3 is permanent)', async () => {
    const bad = join(dir, 'broken.mp4');
    await writeFile(bad, 'not a video');
    const job = await vq.submit({ pool: 'opencv', input: { video: bad }, retries: 3 });
    const err = await vq.waitFor(job.metadata.name!, 'Succeeded', { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    const failed = (err as JobFailedError).job;
    expect(failed.status).toMatchObject({ phase: 'Failed', attempts: 1, failures: 1 });
  });
});

/**
 * The OpenCV worker (examples/algorithms/opencv-worker.py) run the way the agent runs it, on
 * generated videos whose moving objects are known: motion must be reported in the segments and
 * areas where the objects move and nowhere in the static parts; the exit-code contract and
 * SIGTERM are checked too. Needs Debian's python3-opencv and ffmpeg (installed by .ci/run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { WORKER, makeFfmpegVideo, makeVideo } from './worker-video.js';

interface Segment {
  start: number;
  end: number;
  motionFrames: number;
  maxObjects: number;
  people: number;
  motionBox?: [number, number, number, number];
}
interface WorkerResult {
  frames: number;
  width: number;
  height: number;
  segments: Segment[];
  keyFrame: { file: string; path: string; time: number; motionBoxes: number[][] } | null;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  dir: string;
  result?: WorkerResult;
  progress?: { percent: number; message?: string };
}

let root: string;
let seq = 0;

/** Starts the worker with the agent's environment in a fresh attempt dir. */
function startWorker(input: Record<string, unknown>): { done: Promise<Run>; dir: string; kill(sig: NodeJS.Signals): void } {
  const dir = join(root, `attempt-${++seq}`);
  const env = {
    ...process.env,
    VISIONQ_INPUT: JSON.stringify(input),
    VISIONQ_PROGRESS_FILE: join(dir, 'progress.json'),
    VISIONQ_RESULT_FILE: join(dir, 'result.json'),
    VISIONQ_WORK_DIR: join(dir, 'work'),
    VISIONQ_JOB_NAME: `job-${seq}`,
  };
  mkdirSync(join(dir, 'work'), { recursive: true });
  // Spawned through its shebang: it must pick /usr/bin/python3, not a pyenv python3 on PATH.
  const child = spawn(WORKER, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  const done = new Promise<Run>((resolve) => {
    child.on('exit', async (code, signal) => {
      const read = async (f: string) => (existsSync(join(dir, f)) ? JSON.parse(await readFile(join(dir, f), 'utf8')) : undefined);
      resolve({ code, signal, stderr, dir, result: await read('result.json'), progress: await read('progress.json') });
    });
  });
  return { done, dir, kill: (sig) => child.kill(sig) };
}

const within = (box: number[] | undefined, y0: number, y1: number): boolean => !!box && box[1]! >= y0 && box[1]! + box[3]! <= y1;

describe('opencv-worker on generated videos', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'visionq-opencv-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports motion where objects move (OpenCV-written MPEG-4), none in the static segments', async () => {
    const video = join(root, 'two-objects.mp4');
    // 0-2 s static; 2-4 s a square crosses the top band; 3-4 s a second one rises at the bottom; 4-6 s static.
    await makeVideo(video, 6, 10, [
      { start: 2, end: 4, x0: 10, y0: 30, x1: 270, y1: 30, size: 30 },
      { start: 3, end: 4, x0: 150, y0: 200, x1: 150, y1: 140, size: 30 },
    ]);
    const run = await startWorker({ video, segmentSeconds: 1 }).done;
    expect(run.code, run.stderr).toBe(0);
    const r = run.result!;
    expect(r).toMatchObject({ frames: 60, width: 320, height: 240 });
    expect(r.segments.map((s) => [s.start, s.end])).toEqual([
      [2, 3],
      [3, 4],
    ]);
    const [first, second] = r.segments as [Segment, Segment];
    expect(first.motionFrames).toBeGreaterThanOrEqual(8);
    expect(first.maxObjects).toBe(1);
    expect(within(first.motionBox, 20, 70)).toBe(true); // only the top band moves
    expect(first.motionBox![0]).toBeLessThan(160); // left half during the first second
    expect(second.maxObjects).toBe(2);
    expect(within(second.motionBox, 20, 240)).toBe(true);
    expect(second.motionBox![1] + second.motionBox![3]).toBeGreaterThan(150); // includes the bottom object
    expect(r.segments.every((s) => s.people === 0)).toBe(true); // squares are not people
    expect(run.progress).toEqual({ percent: 100, message: 'frame 60/60' });

    const kf = r.keyFrame!;
    expect(kf.time).toBeGreaterThanOrEqual(2);
    expect(kf.time).toBeLessThan(4);
    expect(kf.path).toBe(join(run.dir, 'work', 'keyframe.jpg'));
    const jpeg = await readFile(kf.path);
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
  });

  it('reads an H.264 video made by ffmpeg and puts the motion at the bottom between 2 s and 4 s', async () => {
    const video = join(root, 'ffmpeg.mp4');
    await makeFfmpegVideo(video, 5);
    const out = join(root, 'keyframes');
    const run = await startWorker({ video, detect: ['motion'], segmentSeconds: 0.5, outputDir: out }).done;
    expect(run.code, run.stderr).toBe(0);
    const r = run.result!;
    expect(r.frames).toBe(50);
    expect(r.segments.length).toBeGreaterThanOrEqual(3);
    for (const s of r.segments) {
      expect(s.start).toBeGreaterThanOrEqual(2);
      expect(s.end).toBeLessThanOrEqual(4);
      expect(within(s.motionBox, 140, 190)).toBe(true);
    }
    expect(r.keyFrame!.path).toBe(join(out, `job-${seq}-keyframe.jpg`));
    expect(existsSync(r.keyFrame!.path)).toBe(true);
  });

  it('exits 3 (permanent) for a file that is not a video, a missing file and input without a video', async () => {
    const notVideo = join(root, 'notes.mp4');
    await writeFile(notVideo, 'this is not a video\n');
    for (const input of [{ video: notVideo }, { video: join(root, 'missing.mp4') }, { detect: ['motion'] }, { video: notVideo, detect: ['cars'] }]) {
      const run = await startWorker(input).done;
      expect(run.code, JSON.stringify(input)).toBe(3);
      expect(run.result).toBeUndefined();
    }
  });

  it('stops promptly on SIGTERM with the retryable code 143', async () => {
    const video = join(root, 'long.mp4');
    await makeVideo(video, 60, 10, [{ start: 1, end: 59, x0: 0, y0: 30, x1: 280, y1: 30, size: 30 }]);
    const w = startWorker({ video, pace: 'realtime' });
    await waitFor(async () => existsSync(join(w.dir, 'progress.json')), { timeoutMs: 30_000, message: 'worker reports progress' });
    w.kill('SIGTERM');
    const run = await w.done;
    expect(run.code).toBe(143);
    expect(run.progress?.message).toBe('interrupted');
    expect(run.progress!.percent).toBeLessThan(50);
    expect(run.result).toBeUndefined();
  });
});

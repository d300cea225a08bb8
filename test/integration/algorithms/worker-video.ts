/** Test videos with known motion for the OpenCV worker, made by OpenCV and by ffmpeg. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../../src/sandbox/package-root.js';

const exec = promisify(execFile);
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const WORKER = join(packageRoot, 'examples/algorithms/opencv-worker.py');
const MAKE_VIDEO = join(packageRoot, 'test/integration/algorithms/fixtures/make-video.py');

/** A moving white square: from (x0,y0) to (x1,y1) between start and end seconds. */
export interface Scene {
  start: number;
  end: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  size: number;
}

/** 320x240 MPEG-4 video written by OpenCV's VideoWriter. */
export async function makeVideo(path: string, seconds: number, fps: number, scenes: Scene[]): Promise<void> {
  const args = scenes.map((s) => [s.start, s.end, s.x0, s.y0, s.x1, s.y1, s.size].join(':'));
  await exec(SYSTEM_PYTHON, [MAKE_VIDEO, path, String(seconds), String(fps), ...args], { timeout: 60_000 });
}

/** 320x240 H.264 video from ffmpeg's lavfi: a 30 px square crossing at y=150 from t=2 to t=4. */
export async function makeFfmpegVideo(path: string, seconds: number): Promise<void> {
  await exec(
    '/usr/bin/ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `color=c=0x282828:s=320x240:r=10:d=${seconds}`,
      '-f', 'lavfi', '-i', `color=c=white:s=30x30:r=10:d=${seconds}`,
      '-filter_complex', "[0][1]overlay=x='10+(t-2)*120':y=150:enable='between(t,2,3.95)'",
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path,
    ],
    { timeout: 60_000 },
  );
}

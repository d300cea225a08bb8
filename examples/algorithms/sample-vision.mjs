#!/usr/bin/env node
// Sample "vision" algorithm for visionq demos and tests. Plain Node, no dependencies.
// It follows the worker contract (docs/worker-contract): reads the job from the environment,
// "processes frames" over durationSeconds (a log line per frame, progress file updates),
// writes a result JSON with a detections summary, and can fail on purpose:
//   input.failMode "transient": exit 1 while attempt <= input.failAttempts (default 1)
//   input.failMode "permanent": exit 3 ("unsupported codec"); list 3 in permanentExitCodes
// Args: --fps N (frames per second, default 2), --model NAME (label in the result).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const EXIT_TRANSIENT = 1;
const EXIT_PERMANENT = 3;
const CLASSES = ['person', 'car', 'bicycle', 'truck', 'dog'];

function readInput() {
  if (process.env.VISIONQ_INPUT) return JSON.parse(process.env.VISIONQ_INPUT);
  if (process.env.VISIONQ_JOB_FILE) return JSON.parse(readFileSync(process.env.VISIONQ_JOB_FILE, 'utf8')).input ?? {};
  return {};
}

function parseArgs(argv) {
  const out = { fps: 2, model: 'yolo-sim' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--fps') out.fps = Math.max(0.1, Number(argv[++i]) || out.fps);
    else if (argv[i] === '--model') out.model = String(argv[++i] ?? out.model);
  }
  return out;
}

/** Writes via rename so the agent never reads a half-written file. */
function writeJsonAtomic(path, value) {
  if (!path) return;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}

/** Deterministic per-video pseudo-random numbers, so a retried job finds the same objects. */
function rng(seedText) {
  let h = 2166136261;
  for (const ch of seedText) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return ((h ^= h >>> 16) >>> 0) / 4294967296;
  };
}

const log = (msg) => console.log(`[sample-vision] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const input = readInput();
  const args = parseArgs(process.argv.slice(2));
  const attempt = Number(process.env.VISIONQ_ATTEMPT ?? 1);
  const video = String(input.video ?? 'sample.mp4');
  const durationSeconds = Math.max(0, Number(input.durationSeconds ?? 5));
  const failMode = String(input.failMode ?? 'none');
  const failAttempts = Number(input.failAttempts ?? 1);
  const totalFrames = Math.max(1, Math.round(durationSeconds * args.fps));
  const frameMs = (durationSeconds * 1000) / totalFrames;
  const progressFile = process.env.VISIONQ_PROGRESS_FILE;

  let frame = 0;
  // Stop at once on SIGTERM (a drain or a cancel): the agent re-queues or cancels the job.
  process.on('SIGTERM', () => {
    log(`SIGTERM at frame ${frame}/${totalFrames}: stopping`);
    writeJsonAtomic(progressFile, { percent: Math.floor((frame / totalFrames) * 100), message: 'interrupted' });
    process.exit(143);
  });

  log(`job ${process.env.VISIONQ_JOB_NAMESPACE ?? '-'}/${process.env.VISIONQ_JOB_NAME ?? '-'} attempt ${attempt}: ` +
    `opening ${video} (${totalFrames} frames, ${durationSeconds}s, model ${args.model})`);

  if (failMode === 'permanent') {
    console.error(`[sample-vision] ${video}: unsupported codec`);
    writeJsonAtomic(progressFile, { percent: 0, message: 'unsupported codec' });
    process.exit(EXIT_PERMANENT);
  }
  const failAtFrame = failMode === 'transient' && attempt <= failAttempts ? Math.ceil(totalFrames * 0.3) : -1;

  const random = rng(video);
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  let lastProgressAt = 0;
  for (frame = 1; frame <= totalFrames; frame++) {
    await sleep(frameMs);
    const found = [];
    for (const cls of CLASSES) {
      const n = Math.floor(random() * 3 * (cls === 'person' || cls === 'car' ? 2 : 0.5));
      counts[cls] += n;
      if (n) found.push(`${n} ${cls}`);
    }
    log(`frame ${frame}/${totalFrames}: ${found.length ? found.join(', ') : 'nothing'}`);
    if (frame === failAtFrame) {
      console.error(`[sample-vision] frame ${frame}: decoder error (transient failure ${attempt}/${failAttempts})`);
      process.exit(EXIT_TRANSIENT);
    }
    const now = Date.now();
    if (now - lastProgressAt >= 500 || frame === totalFrames) {
      lastProgressAt = now;
      writeJsonAtomic(progressFile, {
        percent: Math.round((frame / totalFrames) * 1000) / 10,
        message: `frame ${frame}/${totalFrames}`,
      });
    }
  }

  const result = {
    video,
    model: args.model,
    frames: totalFrames,
    attempt,
    detections: counts,
    totalDetections: Object.values(counts).reduce((a, b) => a + b, 0),
  };
  writeJsonAtomic(process.env.VISIONQ_RESULT_FILE, result);
  log(`done: ${result.totalDetections} detections in ${totalFrames} frames`);
}

main().catch((err) => {
  console.error(`[sample-vision] ${err?.stack ?? err}`);
  process.exit(EXIT_TRANSIENT);
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './manifest-helpers.js';

const script = join(repoRoot, 'examples/algorithms/sample-vision.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  dir: string;
}

function run(input: object, opts: { attempt?: number; args?: string[]; onStdout?: (s: string, kill: () => void) => void } = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'visionq-sample-'));
  dirs.push(dir);
  const child = spawn(process.execPath, [script, ...(opts.args ?? ['--fps', '8'])], {
    cwd: repoRoot,
    env: {
      ...process.env,
      VISIONQ_INPUT: JSON.stringify(input),
      VISIONQ_ATTEMPT: String(opts.attempt ?? 1),
      VISIONQ_PROGRESS_FILE: join(dir, 'progress.json'),
      VISIONQ_RESULT_FILE: join(dir, 'result.json'),
      VISIONQ_WORK_DIR: dir,
      VISIONQ_JOB_NAME: 'job-1',
      VISIONQ_JOB_NAMESPACE: 'default',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => {
    stdout += b;
    opts.onStdout?.(stdout, () => child.kill('SIGTERM'));
  });
  child.stderr.on('data', (b) => (stderr += b));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, dir })));
}

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('examples/algorithms/sample-vision.mjs', () => {
  it('processes frames, reports progress and writes a detections summary', async () => {
    const r = await run({ video: 'lobby.mp4', durationSeconds: 0.5 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('frame 4/4');
    expect(readJson(join(r.dir, 'progress.json'))).toEqual({ percent: 100, message: 'frame 4/4' });
    const result = readJson(join(r.dir, 'result.json'));
    expect(result).toMatchObject({ video: 'lobby.mp4', frames: 4, attempt: 1 });
    expect(Object.keys(result.detections)).toContain('person');
    expect(result.totalDetections).toBe(Object.values(result.detections as Record<string, number>).reduce((a, b) => a + b, 0));
  });

  it('fails transiently (exit 1) while attempt <= failAttempts, then succeeds', async () => {
    const input = { durationSeconds: 0.5, failMode: 'transient', failAttempts: 2 };
    const first = await run(input, { attempt: 2 });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('transient failure');
    const third = await run(input, { attempt: 3 });
    expect(third.code).toBe(0);
  });

  it('fails permanently with exit 3 and an unsupported codec message', async () => {
    const r = await run({ failMode: 'permanent' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unsupported codec');
  });

  it('stops on SIGTERM without finishing the job', async () => {
    const r = await run({ durationSeconds: 600 }, {
      onStdout: (out, kill) => {
        if (out.includes('frame 2/')) kill();
      },
    });
    expect(r.code).toBe(143);
    expect(r.stdout).toContain('SIGTERM');
    expect(() => readFileSync(join(r.dir, 'result.json'))).toThrow();
  });
});

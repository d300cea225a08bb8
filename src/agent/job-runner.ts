import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { realClock, type Clock } from '../lib/clock.js';
import type { JobMessage } from '../queue/job-message.js';
import type { ProcessOutcome } from './exit-classifier.js';
import { pipeWithPrefix, type OutputSink } from './output-prefixer.js';

export const MAX_RESULT_BYTES = 16 * 1024;

export interface AttemptSpec {
  job: JobMessage;
  attempt: number;
  deliveryCount: number;
  streamSeq: number;
  /** The algorithm command; the job's args are appended. */
  command: readonly string[];
  /** Parent dir of per-attempt dirs. */
  workRoot: string;
  deadline: Date | null;
  baseEnv: NodeJS.ProcessEnv;
  output: OutputSink;
  progressPollMs: number;
  /** SIGTERM → SIGKILL gap when the attempt times out. */
  killGraceMs: number;
  onProgress: (p: { percent: number; message: string }) => void;
  /** Time source for durations and the deadline (default: the real clock). */
  clock?: Clock;
}

export type KillReason = 'cancel' | 'requeue' | 'superseded' | 'timeout' | 'shutdown';

export interface AttemptResult extends ProcessOutcome {
  killedBy?: KillReason;
  /** Parsed result file (exit 0 only). */
  result?: unknown;
  resultError?: string;
  durationMs: number;
}

/**
 * One attempt of one job: writes the job file, runs the command in its own process
 * group (so a kill reaches grandchildren too), streams its output, polls the progress
 * file and reads the result file. The caller decides what the outcome means.
 */
export class JobRunner {
  private child?: ChildProcess;
  private killedBy?: KillReason;
  private killTimer?: NodeJS.Timeout;
  private exited = false;
  readonly dir: string;
  private readonly clock: Clock;

  constructor(private readonly spec: AttemptSpec) {
    this.clock = spec.clock ?? realClock;
    this.dir = join(spec.workRoot, `${spec.job.uid}-${spec.streamSeq}-${spec.deliveryCount}`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async run(): Promise<AttemptResult> {
    const { job, spec } = { job: this.spec.job, spec: this.spec };
    const started = this.clock.now();
    const workDir = join(this.dir, 'work');
    const jobFile = join(this.dir, 'job.json');
    const progressFile = join(this.dir, 'progress.json');
    const resultFile = join(this.dir, 'result.json');
    await mkdir(workDir, { recursive: true });
    await writeFile(
      jobFile,
      JSON.stringify({
        namespace: job.namespace,
        name: job.name,
        uid: job.uid,
        pool: job.pool,
        input: job.input,
        args: job.args,
        env: job.env,
        attempt: spec.attempt,
        deliveryCount: spec.deliveryCount,
        timeoutSeconds: job.timeoutSeconds,
        deadline: spec.deadline?.toISOString() ?? null,
      }),
    );
    const env: NodeJS.ProcessEnv = {
      ...withoutAgentSecrets(spec.baseEnv),
      ...job.env,
      VISIONQ_JOB_FILE: jobFile,
      VISIONQ_PROGRESS_FILE: progressFile,
      VISIONQ_RESULT_FILE: resultFile,
      VISIONQ_JOB_NAME: job.name,
      VISIONQ_JOB_NAMESPACE: job.namespace,
      VISIONQ_JOB_UID: job.uid,
      VISIONQ_ATTEMPT: String(spec.attempt),
      VISIONQ_INPUT: JSON.stringify(job.input),
      VISIONQ_WORK_DIR: workDir,
    };
    // Cancelled before the process even started.
    if (this.killedBy) return { exitCode: null, signal: null, timedOut: false, killedBy: this.killedBy, durationMs: this.clock.now() - started };
    const [cmd, ...cmdArgs] = spec.command;
    if (!cmd) throw new Error('no command to run');
    const prefix = `[${job.name}] `;

    const poller = this.pollProgress(progressFile);
    const outcome = await new Promise<ProcessOutcome & { pipes: Promise<unknown> }>((resolve) => {
      let child: ChildProcess;
      try {
        // The container's own working directory is kept: commands may use relative paths.
        child = spawn(cmd, [...cmdArgs, ...job.args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        resolve({ exitCode: null, signal: null, timedOut: false, spawnError: (err as Error).message, pipes: Promise.resolve() });
        return;
      }
      this.child = child;
      const pipes = Promise.all([
        child.stdout ? pipeWithPrefix(child.stdout, prefix, 'stdout', spec.output) : undefined,
        child.stderr ? pipeWithPrefix(child.stderr, prefix, 'stderr', spec.output) : undefined,
      ]);
      let timeout: NodeJS.Timeout | undefined;
      if (spec.deadline) {
        timeout = setTimeout(() => this.kill('timeout', spec.killGraceMs), Math.max(0, spec.deadline.getTime() - this.clock.now()));
      }
      child.once('error', (err) => {
        clearTimeout(timeout);
        this.exited = true;
        resolve({ exitCode: null, signal: null, timedOut: false, spawnError: err.message, pipes });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timeout);
        this.exited = true;
        resolve({ exitCode: code, signal, timedOut: this.killedBy === 'timeout', pipes });
      });
    });
    // Output of a grandchild that outlives the leader must not hold the slot.
    await Promise.race([outcome.pipes, sleep(2000)]);
    clearTimeout(this.killTimer);
    this.killGroup('SIGKILL');
    await poller.stop();

    const res: AttemptResult = {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      spawnError: outcome.spawnError,
      killedBy: this.killedBy,
      durationMs: this.clock.now() - started,
    };
    if (outcome.exitCode === 0 && !this.killedBy) Object.assign(res, await readResult(resultFile));
    // Not awaited: the attempt's directory is its own, and the slot should not wait for the disk.
    void rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    return res;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`. The first reason wins. */
  kill(reason: KillReason, graceMs: number): void {
    if (this.exited) return;
    // Before spawn: run() sees killedBy and does not start the process.
    this.killedBy ??= reason;
    this.killGroup('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    this.killTimer.unref();
  }

  private killGroup(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  }

  private pollProgress(file: string): { stop(): Promise<void> } {
    let last = '';
    let stopped = false;
    let lastMtime = 0;
    const check = async () => {
      try {
        const st = await stat(file);
        if (st.mtimeMs === lastMtime && st.size > 0) return;
        lastMtime = st.mtimeMs;
        const text = (await readFile(file, 'utf8')).trim();
        if (text === last || text.length === 0) return;
        const p = JSON.parse(text) as { percent?: unknown; message?: unknown };
        last = text;
        const percent = typeof p.percent === 'number' ? Math.max(0, Math.min(100, p.percent)) : 0;
        const message = typeof p.message === 'string' ? p.message.slice(0, 1024) : '';
        this.spec.onProgress({ percent, message });
      } catch {
        // Missing or half-written file: try again next tick.
      }
    };
    const timer = setInterval(() => void check(), this.spec.progressPollMs);
    timer.unref();
    return {
      async stop() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        await check();
      },
    };
  }
}

async function readResult(file: string): Promise<{ result?: unknown; resultError?: string }> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return {};
  }
  if (data.length > MAX_RESULT_BYTES) return { resultError: `result file larger than ${MAX_RESULT_BYTES} bytes` };
  try {
    return { result: JSON.parse(data.toString('utf8')) };
  } catch (err) {
    return { resultError: `result file is not JSON: ${(err as Error).message}` };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * The agent's NATS login is its own: the algorithm does not need it, so it is not handed on
 * (defence in depth: a process of the same user in the container can still read the agent's
 * /proc environ).
 */
function withoutAgentSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { VISIONQ_NATS_USER: _user, VISIONQ_NATS_PASSWORD: _password, ...rest } = env;
  return rest;
}

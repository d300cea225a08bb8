/**
 * Throughput against the machine's own limit, measured in the same run: the same algorithm
 * processes run by a bare local pool (child processes, the same parallelism) before and after
 * visionq runs them, so visionq's makespan is reported as a ratio of what this machine can do
 * right now rather than of an ideal that ignores the cost of starting a process. A second
 * pair runs a shell algorithm (`sleep`), whose start costs almost nothing, so the
 * orchestration's own overhead shows plainly. CPU seconds per job are split by component
 * from /proc (the controller runs as a child process so it can be told apart).
 * Run: npx tsx bench/throughput-baseline.ts   (BENCH_JOBS default 1000, BENCH_DURATION s default 0.5)
 * BENCH_PROFILE_DIR=dir writes V8 CPU profiles of the controller, the agents and the algorithm
 * runs there (open them in Chrome DevTools or speedscope).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, NS, VERSION, createJob, createPool, probeJob, probePool, startHarness, waitAll, type Harness } from '../test/e2e/harness.js';
import { packageRoot } from '../src/sandbox/package-root.js';
import type { VisionJobObject } from '../src/controller/manager/context-types.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { writeResult } from './controller-bench-util.js';
import { cmdlineOf, pidsMatching, procCpu } from './proc-cpu-util.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../src/queue/connect.js';
import { EVENTS_STREAM } from '../src/queue/subjects.js';

const jobs = Number(process.env.BENCH_JOBS ?? 1000);
const duration = Number(process.env.BENCH_DURATION ?? 0.5);
const workers = 4;
const slotsPerWorker = 5;
const slots = workers * slotsPerWorker;
const profileDir = process.env.BENCH_PROFILE_DIR;
const PROBE = join(packageRoot, 'test/e2e/fixtures/probe-algorithm.mjs');

type Algorithm = 'node' | 'shell';
const argvOf = (a: Algorithm): string[] => (a === 'node' ? [process.execPath, PROBE] : ['/bin/sh', '-c', `sleep ${duration}`]);

interface BareRun {
  makespanMs: number;
  cpuSecondsPerJob: number;
}

/** `jobs` runs of the algorithm, `slots` at a time, as plain child processes. */
async function barePool(algorithm: Algorithm): Promise<BareRun> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-bare-'));
  const [cmd, ...args] = argvOf(algorithm);
  const cpu0 = procCpu('self')!.children;
  const t0 = Date.now();
  let next = 0;
  const runOne = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd!, args, {
        stdio: 'ignore',
        // A container's environment, not this shell's: NODE_EXTRA_CA_CERTS alone (set on
        // these machines) doubles a Node start's CPU, and the agent does not pass it on.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), PROBE_DIR: dir, VISIONQ_JOB_NAME: `bare-${i}`, VISIONQ_ATTEMPT: '1', VISIONQ_INPUT: JSON.stringify({ durationSeconds: duration }) },
      });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bare run ${i} exited ${code}`))));
    });
  await Promise.all(Array.from({ length: slots }, async () => {
    while (next < jobs) await runOne(next++);
  }));
  const makespanMs = Date.now() - t0;
  const cpu = procCpu('self')!.children - cpu0;
  await rm(dir, { recursive: true, force: true });
  return { makespanMs, cpuSecondsPerJob: round(cpu / jobs, 4) };
}

interface VisionqRun {
  makespanMs: number;
  cpuSecondsPerJob: Record<string, number>;
  /** API requests per job by verb and resource (watches left out), from the sandbox API server. */
  apiRequestsPerJob: Record<string, number>;
  /** Job events stored per job (each is a publish with an ack). */
  eventsPerJob: number;
  attemptsAboveOne: number;
}

async function visionq(algorithm: Algorithm): Promise<VisionqRun> {
  const h = await startHarness({ nodes: 2, gpusPerNode: 2, controller: false });
  try {
    // The built JavaScript, as the image runs it (npm run bench builds first): tsx's loader
    // would add its own start-up and module hooks to the agents' CPU.
    const entry = [join(packageRoot, 'dist/controller/main.js')];
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const agentCommand = [process.execPath, ...prof, join(packageRoot, 'dist/agent/main.js')].join(' ');
    const controller = h.spawnController(`bench-${algorithm}`, ['--agent-command', agentCommand], [...prof, ...entry]);
    const done = new Map<string, number>();
    h.jobs.addEventHandler({
      onUpdate: (_o, j: VisionJobObject) => {
        if (j.status?.phase === 'Succeeded' && !done.has(j.metadata!.name!)) done.set(j.metadata!.name!, Date.now());
      },
    });
    const pool = probePool(h, `tput-${algorithm}`, { minReplicas: workers, maxReplicas: workers, slotsPerWorker });
    const container = (pool as any).spec.template.spec.containers[0];
    container.command = algorithm === 'node' && profileDir ? [process.execPath, `--cpu-prof`, `--cpu-prof-dir=${profileDir}`, PROBE] : argvOf(algorithm);
    await createPool(h, pool);
    // Warm workers first: the bench measures job throughput, not pod start-up.
    await waitFor(async () => ((await readyWorkers(h, `tput-${algorithm}`)) >= workers ? true : undefined), { timeoutMs: 120_000, intervalMs: 200, message: 'warm workers' });
    const cpuStart = snapshot(controller.pid!, h);
    // The real control plane's apiserver keeps its own counts; only the sandbox's are read here.
    const api0 = h.sandbox.api?.requestCounts() ?? {};
    const nats = await connectNats({ servers: h.sandbox.natsUrl, name: 'bench-counts' });
    const jsm = await jetstreamManager(nats);
    const events0 = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    const names = Array.from({ length: jobs }, (_, i) => `${algorithm}-${i}`);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < names.length) await createJob(h, probeJob(names[next++]!, `tput-${algorithm}`, { durationSeconds: duration }));
    }));
    const finished = await waitAll(h, names, 'Succeeded', 60 * 60_000);
    const makespanMs = Math.max(...names.map((n) => done.get(n) ?? Date.now())) - t0;
    const cpuEnd = snapshot(controller.pid!, h);
    const api1 = h.sandbox.api?.requestCounts() ?? {};
    const apiRequestsPerJob: Record<string, number> = {};
    for (const [k, v] of Object.entries(api1)) {
      const per = round((v - (api0[k] ?? 0)) / jobs, 2);
      if (!k.startsWith('watch') && per >= 0.01) apiRequestsPerJob[k] = per;
    }
    const eventsPerJob = round(((await jsm.streams.info(EVENTS_STREAM)).state.last_seq - events0) / jobs, 2);
    await nats.close();
    const perJob: Record<string, number> = {};
    for (const k of Object.keys(cpuEnd) as Array<keyof Snapshot>) perJob[k] = round((cpuEnd[k] - cpuStart[k]) / jobs, 4);
    perJob.total = round(Object.values(perJob).reduce((s, v) => s + v, 0), 4);
    const attempts = finished.reduce((s, j) => s + (j.status?.attempts ?? 1), 0);
    // A clean exit (SIGTERM) so a profiled controller writes its profile.
    const exited = new Promise((r) => controller.once('exit', r));
    controller.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    return { makespanMs, cpuSecondsPerJob: perJob, apiRequestsPerJob, eventsPerJob, attemptsAboveOne: attempts - jobs };
  } finally {
    await h.stop();
  }
}

async function readyWorkers(h: Harness, pool: string): Promise<number> {
  const p = (await h.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name: pool })) as { status?: { ready?: number } };
  return p.status?.ready ?? 0;
}

interface Snapshot {
  controller: number;
  natsServer: number;
  agents: number;
  algorithm: number;
  sandboxProcess: number;
  /** The real control plane's processes (etcd, kube-apiserver, controller-manager, scheduler); 0 on the in-memory tier. */
  controlPlane: number;
}

/**
 * CPU seconds so far: the controller child, nats-server, every agent (own time) and the
 * algorithm runs the agents reaped, and this process (API server, kubelet, scheduler, the
 * bench's own job creation and informer).
 */
function snapshot(controllerPid: number, h: Harness): Snapshot {
  let agents = 0;
  let algorithm = 0;
  // The controller's own command line names the agent bundle too (--agent-command).
  for (const pid of pidsMatching('dist/agent/main.js').filter((p) => p !== controllerPid)) {
    const c = procCpu(pid);
    if (!c) continue;
    agents += c.self;
    algorithm += c.children;
  }
  const self = process.cpuUsage();
  return {
    controller: procCpu(controllerPid)?.self ?? 0,
    natsServer: procCpu(h.sandbox.nats!.pid!)?.self ?? 0,
    agents,
    algorithm,
    sandboxProcess: (self.user + self.system) / 1e6,
    controlPlane: pidsMatching(h.sandbox.dir)
      .filter((pid) => /\/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler) /.test(`${cmdlineOf(pid)} `))
      .reduce((sum, pid) => sum + (procCpu(pid)?.self ?? 0), 0),
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const ratio = (a: number, b: number): number => round(a / b, 3);

const bareBefore = await barePool('node');
const vqNode = await visionq('node');
const bareAfter = await barePool('node');
const bareShell = await barePool('shell');
const vqShell = await visionq('shell');

const bareLimit = (bareBefore.makespanMs + bareAfter.makespanMs) / 2;
const sleepIdeal = (jobs * duration * 1000) / slots;
const result = {
  jobs,
  slots,
  jobDurationSeconds: duration,
  node: {
    bareBeforeMs: bareBefore.makespanMs,
    bareAfterMs: bareAfter.makespanMs,
    visionqMs: vqNode.makespanMs,
    visionqOverBare: ratio(vqNode.makespanMs, bareLimit),
    bareCpuSecondsPerJob: bareBefore.cpuSecondsPerJob,
    visionqCpuSecondsPerJob: vqNode.cpuSecondsPerJob,
    apiRequestsPerJob: vqNode.apiRequestsPerJob,
    eventsPerJob: vqNode.eventsPerJob,
    attemptsAboveOne: vqNode.attemptsAboveOne,
  },
  shell: {
    sleepIdealMs: sleepIdeal,
    bareMs: bareShell.makespanMs,
    visionqMs: vqShell.makespanMs,
    visionqOverSleepIdeal: ratio(vqShell.makespanMs, sleepIdeal),
    visionqOverBare: ratio(vqShell.makespanMs, bareShell.makespanMs),
    visionqCpuSecondsPerJob: vqShell.cpuSecondsPerJob,
    apiRequestsPerJob: vqShell.apiRequestsPerJob,
    eventsPerJob: vqShell.eventsPerJob,
    attemptsAboveOne: vqShell.attemptsAboveOne,
  },
};
console.log(`\n${jobs} jobs × ${duration} s over ${slots} slots: makespan (ms)`);
console.table({
  'node algorithm': { bare: Math.round(bareLimit), visionq: vqNode.makespanMs, 'visionq/bare': result.node.visionqOverBare },
  'shell sleep': { bare: bareShell.makespanMs, visionq: vqShell.makespanMs, 'visionq/bare': result.shell.visionqOverBare, 'visionq/ideal': result.shell.visionqOverSleepIdeal },
});
console.log('CPU seconds per job by component');
console.table({ 'node algorithm': vqNode.cpuSecondsPerJob, 'shell sleep': vqShell.cpuSecondsPerJob, 'bare pool (node)': { algorithm: bareBefore.cpuSecondsPerJob } });
console.log('API requests per job (sandbox API server; watches left out) and job events per job');
console.table({ 'node algorithm': { ...vqNode.apiRequestsPerJob, events: vqNode.eventsPerJob }, 'shell sleep': { ...vqShell.apiRequestsPerJob, events: vqShell.eventsPerJob } });
console.log('written', await writeResult('throughput-baseline', { result }));

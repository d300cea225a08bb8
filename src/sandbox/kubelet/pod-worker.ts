import { join, resolve as resolvePath } from 'node:path';
import type { CoreV1Api, KubernetesObject, V1Container, V1ContainerState, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ContainerProcess, type ExitInfo } from './container-process.js';
import { baseEnv, ContainerConfigError, containerEnv } from './container-env.js';
import { expandVars } from './env-expansion.js';
import { sleep, type EventRecorder } from '../../kube/index.js';
import { PodStatusSyncer } from './pod-status-syncer.js';
import { qosClass } from './qos-class.js';
import { kubeNow } from './time.js';

export interface PodWorkerDeps {
  core: CoreV1Api;
  nodeName: string;
  hostIP: string;
  podIP: string;
  nodeAllocatable: Record<string, string>;
  podLogDir: string;
  defaultWorkingDir: string;
  logger: Logger;
  recorder: EventRecorder;
  restartBackoff: { initialMs: number; maxMs: number };
}

type SlotState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | {
      kind: 'terminated';
      exitCode: number;
      signal?: string;
      reason: string;
      message?: string;
      startedAt?: string;
      finishedAt: string;
    };

interface Slot {
  spec: V1Container;
  init: boolean;
  state: SlotState;
  lastState?: SlotState;
  restartCount: number;
  /** Exponent of the next CrashLoopBackOff delay; reset after a long enough healthy run. */
  backoffStep: number;
  everStarted: boolean;
  proc?: ContainerProcess;
  pid?: number;
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/**
 * Runs one pod bound to one simulated node: init containers in order, then the containers
 * side by side, restarts by restartPolicy with a back-off, and reports everything through
 * the pod's /status. Deletion and node loss go through terminate() / kill().
 */
export class PodWorker {
  readonly uid: string;
  private pod: V1Pod;
  private readonly initSlots: Slot[];
  private readonly mainSlots: Slot[];
  private readonly syncer: PodStatusSyncer;
  private readonly abort = new AbortController();
  private readonly conditionTimes = new Map<string, { status: string; time: string }>();
  private readonly log: Logger;
  private initialized = false;
  private finalPhase: Phase | undefined;
  private startTime: string | undefined;
  private running: Promise<void> | undefined;
  private termination: Promise<void> | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private killAt = Infinity;

  constructor(pod: V1Pod, private readonly deps: PodWorkerDeps) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    const hasInit = (pod.spec?.initContainers ?? []).length > 0;
    this.initSlots = (pod.spec?.initContainers ?? []).map((spec) => newSlot(spec, true, 'PodInitializing'));
    this.mainSlots = (pod.spec?.containers ?? []).map((spec) =>
      newSlot(spec, false, hasInit ? 'PodInitializing' : 'ContainerCreating'),
    );
    this.log = deps.logger.child({ pod: `${this.namespace}/${this.name}`, node: deps.nodeName });
    this.syncer = new PodStatusSyncer(deps.core, this.namespace, this.name, this.uid, () => this.buildStatus(), this.log);
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  get terminating(): boolean {
    return this.abort.signal.aborted;
  }

  /** The latest object from the API (labels and annotations feed the downward API). */
  update(pod: V1Pod): void {
    this.pod = pod;
  }

  start(): void {
    this.running ??= this.run().catch((err) => this.log.error({ err }, 'pod worker crashed'));
  }

  /**
   * Graceful stop for a deleted pod: SIGTERM to every container's process group, SIGKILL
   * for whatever is left when the grace period ends (a later, shorter grace period wins),
   * then the terminal status is written.
   */
  terminate(gracePeriodSeconds: number): Promise<void> {
    this.scheduleKill(Date.now() + Math.max(0, gracePeriodSeconds) * 1000);
    this.termination ??= this.doTerminate();
    return this.termination;
  }

  /** Stops every process without touching the API (node gone, kubelet stopping). */
  async kill(graceMs = 0): Promise<void> {
    this.syncer.stop();
    this.abort.abort();
    this.scheduleKill(Date.now() + graceMs);
    const procs = this.liveProcesses();
    if (graceMs > 0) for (const p of procs) p.killGroup('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await this.running;
    clearTimeout(this.killTimer);
  }

  private async doTerminate(): Promise<void> {
    this.abort.abort();
    const procs = this.liveProcesses();
    this.log.info({ processes: procs.length }, 'terminating pod');
    for (const s of [...this.initSlots, ...this.mainSlots]) {
      if (s.proc?.running) void this.deps.recorder.event(this.podRef(), 'Normal', 'Killing', `Stopping container ${s.spec.name}`);
    }
    for (const p of procs) p.killGroup('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await this.running;
    clearTimeout(this.killTimer);
    this.finalPhase ??= this.terminalPhaseOnDeletion();
    this.syncer.markDirty();
    await this.syncer.flush();
  }

  private scheduleKill(at: number): void {
    if (at >= this.killAt) return;
    this.killAt = at;
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(
      () => {
        for (const p of this.liveProcesses()) p.killGroup('SIGKILL');
      },
      Math.max(0, at - Date.now()),
    );
  }

  private liveProcesses(): ContainerProcess[] {
    return [...this.initSlots, ...this.mainSlots].flatMap((s) => (s.proc?.running ? [s.proc] : []));
  }

  private terminalPhaseOnDeletion(): Phase {
    const allOk =
      this.initialized &&
      this.mainSlots.every((s) => s.state.kind === 'terminated' && s.state.exitCode === 0);
    return allOk ? 'Succeeded' : 'Failed';
  }

  private async run(): Promise<void> {
    this.startTime = kubeNow();
    this.syncer.markDirty();
    for (const slot of this.initSlots) {
      const ok = await this.runToSuccess(slot);
      if (this.terminating) return;
      if (!ok) {
        this.finish('Failed');
        return;
      }
    }
    this.initialized = true;
    this.syncer.markDirty();
    await Promise.all(this.mainSlots.map((s) => this.runWithRestarts(s)));
    if (this.terminating) return;
    const ok = this.mainSlots.every((s) => s.state.kind === 'terminated' && s.state.exitCode === 0);
    this.finish(ok ? 'Succeeded' : 'Failed');
  }

  private finish(phase: Phase): void {
    this.finalPhase = phase;
    this.log.info({ phase }, 'pod finished');
    this.syncer.markDirty();
  }

  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  /** Init containers: rerun on failure unless restartPolicy is Never. */
  private async runToSuccess(slot: Slot): Promise<boolean> {
    while (true) {
      const code = await this.runOnce(slot);
      if (code === undefined) return false;
      if (code === 0) return true;
      if (this.restartPolicy === 'Never') return false;
      if (!(await this.backOff(slot))) return false;
    }
  }

  private async runWithRestarts(slot: Slot): Promise<void> {
    while (true) {
      const code = await this.runOnce(slot);
      if (code === undefined) return;
      const restart = this.restartPolicy === 'Always' || (this.restartPolicy === 'OnFailure' && code !== 0);
      if (!restart) return;
      if (!(await this.backOff(slot))) return;
    }
  }

  /** CrashLoopBackOff before a restart; false when the pod started terminating meanwhile. */
  private async backOff(slot: Slot): Promise<boolean> {
    const { initialMs, maxMs } = this.deps.restartBackoff;
    // Like the kubelet, forget the back-off once the container has run well for a while.
    const last = slot.state.kind === 'terminated' ? slot.state : undefined;
    const ranMs = last?.startedAt ? Date.parse(last.finishedAt) - Date.parse(last.startedAt) : 0;
    if (ranMs >= 2 * maxMs) slot.backoffStep = 0;
    const delay = Math.min(maxMs, initialMs * 2 ** slot.backoffStep);
    slot.backoffStep = Math.min(slot.backoffStep + 1, 30);
    slot.lastState = slot.state;
    slot.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${delay}ms restarting failed container=${slot.spec.name} pod=${this.name}_${this.namespace}(${this.uid})`,
    };
    this.syncer.markDirty();
    await sleep(delay, this.abort.signal);
    if (this.terminating) return false;
    slot.restartCount++;
    return true;
  }

  /** One run of a container; its exit code, or undefined if the pod is terminating first. */
  private async runOnce(slot: Slot): Promise<number | undefined> {
    const c = slot.spec;
    if (!c.command || c.command.length === 0) {
      this.setWaiting(
        slot,
        'CreateContainerError',
        `container "${c.name}" has no command: the visionq sandbox ignores images, so set spec.containers[].command`,
      );
      await sleep(2 ** 31 - 1, this.abort.signal);
      return undefined;
    }
    let env: Record<string, string>;
    // A missing Secret or ConfigMap often appears moments later (created by whoever creates the
    // pod's dependencies in parallel): retry soon at first, then at the restart back-off's cap.
    let configRetryMs = this.deps.restartBackoff.initialMs;
    while (true) {
      if (this.terminating) return undefined;
      try {
        env = await containerEnv(this.pod, c, {
          core: this.deps.core,
          nodeName: this.deps.nodeName,
          hostIP: this.deps.hostIP,
          podIP: this.deps.podIP,
          nodeAllocatable: this.deps.nodeAllocatable,
        });
        break;
      } catch (err) {
        const msg = err instanceof ContainerConfigError ? err.message : String(err);
        this.setWaiting(slot, 'CreateContainerConfigError', msg);
        await sleep(configRetryMs, this.abort.signal);
        configRetryMs = Math.min(this.deps.restartBackoff.maxMs, configRetryMs * 2);
      }
    }
    if (this.terminating) return undefined;
    const lookup = (name: string): string | undefined => env[name];
    const argv = [...c.command, ...(c.args ?? [])].map((a) => expandVars(a, lookup));
    const cwd = c.workingDir ? resolvePath(this.deps.defaultWorkingDir, c.workingDir) : this.deps.defaultWorkingDir;
    const proc = ContainerProcess.start({
      argv,
      env: { ...baseEnv(this.pod), ...env },
      cwd,
      logPath: join(this.deps.podLogDir, this.namespace, this.name, `${c.name}.log`),
      // A pod re-created under the same name must not show its predecessor's output.
      truncateLog: !slot.everStarted,
    });
    slot.proc = proc;
    slot.pid = proc.pid;
    const startedAt = kubeNow();
    if (proc.pid !== undefined) {
      slot.state = { kind: 'running', startedAt };
      slot.everStarted = true;
      this.syncer.markDirty();
      void this.deps.recorder.event(this.podRef(), 'Normal', 'Started', `Started container ${c.name}`);
      this.log.debug({ container: c.name, pid: proc.pid }, 'container started');
    }
    const exit: ExitInfo = await proc.exited;
    slot.proc = undefined;
    slot.everStarted = true;
    slot.state = {
      kind: 'terminated',
      exitCode: exit.exitCode,
      signal: exit.signal,
      reason: exit.startError ? 'StartError' : exit.exitCode === 0 ? 'Completed' : 'Error',
      message: exit.startError,
      startedAt: proc.pid !== undefined ? startedAt : undefined,
      finishedAt: kubeNow(),
    };
    if (exit.startError) {
      void this.deps.recorder.event(this.podRef(), 'Warning', 'Failed', `Error: ${exit.startError}`);
    }
    this.log.debug({ container: c.name, exitCode: exit.exitCode, signal: exit.signal }, 'container exited');
    this.syncer.markDirty();
    return exit.exitCode;
  }

  private setWaiting(slot: Slot, reason: string, message: string): void {
    const prev = slot.state;
    slot.state = { kind: 'waiting', reason, message };
    if (prev.kind !== 'waiting' || prev.reason !== reason || prev.message !== message) {
      void this.deps.recorder.event(this.podRef(), 'Warning', 'Failed', `Error: ${message}`);
      this.syncer.markDirty();
    }
  }

  private podRef(): KubernetesObject {
    return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: this.namespace, name: this.name, uid: this.uid } };
  }

  private phase(): Phase {
    if (this.finalPhase) return this.finalPhase;
    if (!this.initialized) return 'Pending';
    if (this.mainSlots.some((s) => !s.everStarted)) return 'Pending';
    return 'Running';
  }

  private condition(type: string, ok: boolean, reason?: string, message?: string): V1PodCondition {
    const status = ok ? 'True' : 'False';
    let t = this.conditionTimes.get(type);
    if (!t || t.status !== status) {
      t = { status, time: kubeNow() };
      this.conditionTimes.set(type, t);
    }
    const c: V1PodCondition = { type, status, lastTransitionTime: t.time as unknown as Date };
    if (!ok && reason) c.reason = reason;
    if (!ok && message) c.message = message;
    return c;
  }

  private buildStatus(): V1PodStatus {
    const phase = this.phase();
    const done = phase === 'Succeeded' || phase === 'Failed';
    const notInit = this.initSlots.filter((s) => !(s.state.kind === 'terminated' && s.state.exitCode === 0)).map((s) => s.spec.name);
    const unready = this.mainSlots.filter((s) => s.state.kind !== 'running').map((s) => s.spec.name);
    const ready = !done && !this.terminating && unready.length === 0;
    const notReadyReason = done ? 'PodCompleted' : 'ContainersNotReady';
    const notReadyMsg = done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
    const status: V1PodStatus = {
      phase,
      conditions: [
        this.condition('Initialized', this.initialized || notInit.length === 0, done ? 'PodCompleted' : 'ContainersNotInitialized',
          done ? undefined : `containers with incomplete status: [${notInit.join(' ')}]`),
        this.condition('Ready', ready, notReadyReason, notReadyMsg),
        this.condition('ContainersReady', ready, notReadyReason, notReadyMsg),
        this.condition('PodScheduled', true),
      ],
      hostIP: this.deps.hostIP,
      hostIPs: [{ ip: this.deps.hostIP }],
      podIP: this.deps.podIP,
      podIPs: [{ ip: this.deps.podIP }],
      startTime: this.startTime as unknown as Date,
      qosClass: qosClass(this.pod),
      containerStatuses: this.mainSlots.map((s) => this.containerStatus(s)),
    };
    if (this.initSlots.length > 0) status.initContainerStatuses = this.initSlots.map((s) => this.containerStatus(s));
    return status;
  }

  private containerStatus(s: Slot): V1ContainerStatus {
    const running = s.state.kind === 'running';
    const st: V1ContainerStatus = {
      name: s.spec.name,
      image: s.spec.image ?? '',
      imageID: '',
      ready: running && !s.init && !this.terminating,
      restartCount: s.restartCount,
      started: running,
      state: toApiState(s.state),
      lastState: s.lastState ? toApiState(s.lastState) : {},
    };
    if (s.pid !== undefined) st.containerID = `sandbox://${this.deps.nodeName}/${s.pid}`;
    return st;
  }
}

function newSlot(spec: V1Container, init: boolean, reason: string): Slot {
  return { spec, init, state: { kind: 'waiting', reason }, restartCount: 0, backoffStep: 0, everStarted: false };
}

function toApiState(s: SlotState): V1ContainerState {
  switch (s.kind) {
    case 'waiting':
      return { waiting: { reason: s.reason, message: s.message } };
    case 'running':
      return { running: { startedAt: s.startedAt as unknown as Date } };
    case 'terminated':
      return {
        terminated: {
          exitCode: s.exitCode,
          reason: s.reason,
          message: s.message,
          startedAt: s.startedAt as unknown as Date,
          finishedAt: s.finishedAt as unknown as Date,
        },
      };
  }
}

import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod, type V1PodCondition } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError, EventRecorder, Informer, isConflict, isNotFound } from '../../kube/index.js';
import { kubeNow, timeMs } from '../kubelet/time.js';
import { unfitReasons, unschedulableMessage } from './node-fit.js';
import { freeOnNode, leastAllocatedScore, usageByNode } from './node-usage.js';
import { InvalidQuantityError } from './quantity.js';
import { isTerminal, nodeAllocatable, podRequests, type ResourceList } from './resources.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const DEFAULT_SCHEDULER = 'default-scheduler';
/** A FailedScheduling event is repeated at most this often while the reason stays the same. */
const EVENT_REPEAT_MS = 60_000;
/** Safety net: pending pods are retried this often even without any cluster change. */
const RESYNC_MS = 5_000;
/** Retry after a failed binding (the API server hiccuped). */
const BIND_RETRY_MS = 300;

export interface SchedulerOptions {
  kc: KubeConfig;
  logger: Logger;
  schedulerName?: string;
}

interface Assumed {
  node: string;
  request: ResourceList;
}

/**
 * A one-queue kube-scheduler: every pending pod is tried against every node, bound through
 * pods/binding to the least-allocated node that fits, or marked PodScheduled=False
 * (Unschedulable) with the scheduler's usual message. Any pod or node change triggers a pass.
 */
export class Scheduler {
  private readonly core: CoreV1Api;
  private readonly pods: Informer<V1Pod>;
  private readonly nodes: Informer<V1Node>;
  private readonly recorder: EventRecorder;
  private readonly name: string;
  /** Pods we bound whose binding the cache has not shown yet (so their room stays taken). */
  private readonly assumed = new Map<string, Assumed>();
  private readonly lastFailure = new Map<string, { message: string; at: number }>();
  private passRunning: Promise<void> | undefined;
  private passAgain = false;
  private debounce: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER;
    this.recorder = new EventRecorder({ core: this.core, component: this.name, logger: opts.logger });
    this.pods = new Informer<V1Pod>({ kc: opts.kc, path: '/api/v1/pods', logger: opts.logger, name: 'scheduler-pods' });
    this.pods.addEventHandler({
      onAdd: (pod) => this.onPod('ADDED', pod),
      onUpdate: (_old, pod) => this.onPod('MODIFIED', pod),
      onDelete: (pod) => this.onPod('DELETED', pod),
    });
    this.nodes = new Informer<V1Node>({ kc: opts.kc, path: '/api/v1/nodes', logger: opts.logger, name: 'scheduler-nodes' });
    const nodeChanged = (): void => this.trigger();
    this.nodes.addEventHandler({ onAdd: nodeChanged, onUpdate: nodeChanged, onDelete: nodeChanged });
  }

  async start(): Promise<void> {
    this.pods.start();
    this.nodes.start();
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    this.resync = setInterval(() => this.trigger(), RESYNC_MS);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resync);
    clearTimeout(this.debounce);
    clearTimeout(this.retryTimer);
    await Promise.all([this.pods.stop(), this.nodes.stop()]);
    await this.passRunning;
  }

  private onPod(type: string, pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (type === 'DELETED' || pod.spec?.nodeName) this.assumed.delete(uid);
    if (type === 'DELETED') this.lastFailure.delete(uid);
    this.trigger();
  }

  private trigger(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.runPass();
    }, 10);
  }

  private runPass(): void {
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.passRunning = this.pass()
      .catch((err) => this.opts.logger.error({ err }, 'scheduling pass failed'))
      .finally(() => {
        this.passRunning = undefined;
        if (this.passAgain && !this.stopped) {
          this.passAgain = false;
          this.runPass();
        }
      });
  }

  private isOurs(pod: V1Pod): boolean {
    const s = pod.spec?.schedulerName;
    return (
      !pod.spec?.nodeName &&
      !pod.metadata?.deletionTimestamp &&
      !isTerminal(pod) &&
      // Pods with scheduling gates wait until every gate is removed (k8s 1.27+).
      (pod.spec?.schedulingGates ?? []).length === 0 &&
      (s === undefined || s === '' || s === this.name) &&
      !this.assumed.has(pod.metadata?.uid ?? '')
    );
  }

  private async pass(): Promise<void> {
    const pending = this.pods.store
      .list()
      .filter((p) => this.isOurs(p))
      .sort((a, b) => (b.spec?.priority ?? 0) - (a.spec?.priority ?? 0) || (timeMs(a.metadata?.creationTimestamp) ?? 0) - (timeMs(b.metadata?.creationTimestamp) ?? 0));
    if (pending.length === 0) return;
    const nodes = this.nodes.store.list().filter((n) => !n.metadata?.deletionTimestamp);
    const used = usageByNode(this.pods.store.list(), this.assumed.values());
    for (const pod of pending) {
      if (this.stopped) return;
      let request: ResourceList;
      try {
        request = podRequests(pod);
      } catch (err) {
        const msg = err instanceof InvalidQuantityError ? err.message : String(err);
        await this.markUnschedulable(pod, `0/${nodes.length} nodes are available: ${msg}.`);
        continue;
      }
      let best: { node: V1Node; score: number } | undefined;
      const reasons: string[][] = [];
      for (const node of nodes) {
        const name = node.metadata?.name ?? '';
        const free = freeOnNode(node, used.get(name));
        const why = unfitReasons(pod, node, request, free);
        if (why.length > 0) {
          reasons.push(why);
          continue;
        }
        const score = leastAllocatedScore(request, free, nodeAllocatable(node));
        if (!best || score > best.score || (score === best.score && name < (best.node.metadata?.name ?? ''))) {
          best = { node, score };
        }
      }
      if (!best) {
        await this.markUnschedulable(pod, unschedulableMessage(nodes.length, reasons));
        continue;
      }
      const nodeName = best.node.metadata?.name ?? '';
      const uid = pod.metadata?.uid ?? '';
      this.assumed.set(uid, { node: nodeName, request });
      let u = used.get(nodeName);
      if (!u) used.set(nodeName, (u = new Map()));
      for (const [k, v] of request) u.set(k, (u.get(k) ?? 0) + v);
      if (!(await this.bind(pod, nodeName))) {
        this.assumed.delete(uid);
        // Like the scheduler's backoff queue: try again soon, not only on the next change.
        this.retryLater();
      }
    }
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.trigger();
    }, BIND_RETRY_MS);
  }

  private async bind(pod: V1Pod, nodeName: string): Promise<boolean> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    try {
      await this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace, uid: pod.metadata?.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        },
      });
      this.lastFailure.delete(pod.metadata?.uid ?? '');
      this.opts.logger.info({ pod: `${namespace}/${name}`, node: nodeName }, 'pod bound');
      void this.recorder.event(this.podRef(pod), 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
      return true;
    } catch (err) {
      // 409: bound meanwhile; 404: deleted. Either way the watch will tell us.
      if (!isConflict(err) && !isNotFound(err)) {
        this.opts.logger.warn({ pod: `${namespace}/${name}`, node: nodeName, err: describeApiError(err) }, 'binding failed');
      }
      return false;
    }
  }

  private async markUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const last = this.lastFailure.get(uid);
    const now = Date.now();
    const current = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    const statusUpToDate = current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message;
    if (last?.message === message && statusUpToDate && now - last.at < EVENT_REPEAT_MS) return;
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    if (last?.message !== message || now - (last?.at ?? 0) >= EVENT_REPEAT_MS) {
      this.lastFailure.set(uid, { message, at: now });
      this.opts.logger.info({ pod: `${namespace}/${name}`, message }, 'pod unschedulable');
      void this.recorder.event(this.podRef(pod), 'Warning', 'FailedScheduling', message);
    }
    if (statusUpToDate) return;
    const cond: V1PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastTransitionTime: (current?.status === 'False' ? current.lastTransitionTime : kubeNow()) as Date,
    };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), cond];
    try {
      await this.core.patchNamespacedPodStatus({ name, namespace, body: { status: { conditions } } }, MERGE_PATCH);
    } catch (err) {
      if (!isNotFound(err)) this.opts.logger.warn({ pod: `${namespace}/${name}`, err: describeApiError(err) }, 'cannot set PodScheduled=False');
    }
  }

  private podRef(pod: V1Pod): V1Pod {
    return { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata };
  }
}

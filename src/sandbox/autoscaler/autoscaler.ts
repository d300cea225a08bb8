import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError, EventRecorder, Informer, isNotFound, sleep } from '../../kube/index.js';
import type { KubeletHandle, SimNodeSpec } from '../kubelet/index.js';
import { nodeObject } from '../kubelet/node-object.js';
import { kubeNow } from '../kubelet/time.js';
import { isNodeReady } from '../scheduler/node-fit.js';
import { activePodsOn, isPendingUnbound, isUnschedulable, TO_BE_DELETED_TAINT } from './cluster-snapshot.js';
import { evictionBlocker, isDaemonSetPod } from './pod-eviction.js';
import { planScaleDown } from './scale-down-planner.js';
import { planScaleUp } from './scale-up-planner.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const AUTOSCALED_LABEL = 'visionq.dev/autoscaled';

export interface AutoscalerOptions {
  kc: KubeConfig;
  kubelet: KubeletHandle;
  nodeTemplate: Omit<SimNodeSpec, 'name'>;
  maxNodes: number;
  provisionDelayMs: number;
  scaleDownUnneededMs: number;
  logger: Logger;
  scanIntervalMs: number;
  utilizationThreshold: number;
  nodeGroup: string;
  namePrefix: string;
}

/**
 * A simulated cluster-autoscaler with one node group: adds template nodes (after a boot
 * delay) for pods the scheduler cannot place, removes its own nodes once they have been
 * unneeded long enough, draining them like the real one (taint, evict, delete).
 */
export class Autoscaler {
  private readonly core: CoreV1Api;
  private readonly pods: Informer<V1Pod>;
  private readonly nodes: Informer<V1Node>;
  private readonly recorder: EventRecorder;
  private readonly template: V1Node;
  private readonly abort = new AbortController();
  /** Requested nodes not yet seen in the informer. */
  private readonly provisioning = new Map<string, NodeJS.Timeout | undefined>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly unneededSince = new Map<string, number>();
  private readonly removing = new Set<string>();
  private readonly notTriggered = new Map<string, string>();
  private scanTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private scanAgain = false;

  constructor(private readonly opts: AutoscalerOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.recorder = new EventRecorder({ core: this.core, component: 'cluster-autoscaler', logger: opts.logger });
    this.template = nodeObject({ ...opts.nodeTemplate, name: `${opts.namePrefix}template`, labels: this.labels() }, kubeNow());
    this.pods = new Informer<V1Pod>({ kc: opts.kc, path: '/api/v1/pods', logger: opts.logger, name: 'autoscaler-pods' });
    this.nodes = new Informer<V1Node>({ kc: opts.kc, path: '/api/v1/nodes', logger: opts.logger, name: 'autoscaler-nodes' });
    const changed = (): void => this.trigger();
    this.pods.addEventHandler({
      onAdd: changed,
      onUpdate: changed,
      onDelete: (pod) => {
        this.notTriggered.delete(pod.metadata?.uid ?? '');
        this.trigger();
      },
    });
    this.nodes.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }

  async start(): Promise<void> {
    this.pods.start();
    this.nodes.start();
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    this.scanTimer = setInterval(() => this.trigger(), this.opts.scanIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.scanTimer);
    clearTimeout(this.debounce);
    for (const t of this.provisioning.values()) clearTimeout(t);
    await Promise.all([this.pods.stop(), this.nodes.stop()]);
    await this.scanning;
    await Promise.allSettled([...this.inflight]);
  }

  private labels(): Record<string, string> {
    return { ...(this.opts.nodeTemplate.labels ?? {}), [AUTOSCALED_LABEL]: 'true' };
  }

  private trigger(): void {
    if (this.abort.signal.aborted || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.runScan();
    }, 20);
  }

  private runScan(): void {
    if (this.scanning) {
      this.scanAgain = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err) => this.opts.logger.error({ err }, 'autoscaler scan failed'))
      .finally(() => {
        this.scanning = undefined;
        if (this.scanAgain && !this.abort.signal.aborted) {
          this.scanAgain = false;
          this.runScan();
        }
      });
  }

  private clearProvisioning(name: string): void {
    if (!this.provisioning.has(name)) return;
    clearTimeout(this.provisioning.get(name));
    this.provisioning.delete(name);
  }

  private async scan(): Promise<void> {
    const pods = this.pods.store.list();
    // A new node stays "upcoming" until it is Ready: registered-but-not-Ready nodes take no
    // pods yet, and counting them as neither would make the next scan add another.
    for (const n of this.nodes.store.list()) if (isNodeReady(n)) this.clearProvisioning(n.metadata?.name ?? '');
    const nodes = this.nodes.store.list().filter((n) => !this.provisioning.has(n.metadata?.name ?? ''));
    const scaledUp = this.scaleUp(nodes, pods);
    // Like the real autoscaler, no scale-down in a loop that scaled up or while nodes boot.
    if (scaledUp || this.provisioning.size > 0) {
      this.unneededSince.clear();
      return;
    }
    this.scaleDown(nodes, pods);
  }

  private scaleUp(nodes: V1Node[], pods: V1Pod[]): boolean {
    const unschedulable = pods.filter(isUnschedulable);
    if (unschedulable.length === 0) return false;
    const plan = planScaleUp({
      unschedulable,
      nodes,
      pods,
      upcoming: this.provisioning.size,
      template: this.template,
      maxNodes: this.opts.maxNodes,
    });
    for (const { pod, reason } of plan.notHelped) {
      const uid = pod.metadata?.uid ?? '';
      if (this.notTriggered.get(uid) === reason) continue;
      this.notTriggered.set(uid, reason);
      void this.recorder.event(podRef(pod), 'Normal', 'NotTriggerScaleUp', `pod didn't trigger scale-up: 1 ${reason}`);
    }
    if (plan.newNodes === 0) return false;
    const before = nodes.length + this.provisioning.size;
    const after = before + plan.newNodes;
    this.opts.logger.info({ before, after, pods: plan.triggering.length }, 'scaling up');
    for (let i = 0; i < plan.newNodes; i++) this.provision();
    const msg = `pod triggered scale-up: [{${this.opts.nodeGroup} ${before}->${after} (max: ${this.opts.maxNodes})}]`;
    for (const pod of plan.triggering) void this.recorder.event(podRef(pod), 'Normal', 'TriggeredScaleUp', msg);
    return true;
  }

  private provision(): void {
    const name = `${this.opts.namePrefix}${randomBytes(3).toString('hex')}`;
    const timer = setTimeout(() => {
      if (this.abort.signal.aborted) return;
      const p = this.opts.kubelet
        .addNode({ ...this.opts.nodeTemplate, name, labels: this.labels() })
        .then(() => this.opts.logger.info({ node: name }, 'node provisioned'))
        .catch((err) => {
          this.opts.logger.warn({ node: name, err: describeApiError(err) }, 'node provisioning failed');
          this.clearProvisioning(name);
          this.trigger();
        })
        .finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }, this.opts.provisionDelayMs);
    this.provisioning.set(name, timer);
  }

  private scaleDown(nodes: V1Node[], pods: V1Pod[]): void {
    const candidates = nodes
      .filter((n) => n.metadata?.labels?.[AUTOSCALED_LABEL] === 'true' && !this.removing.has(n.metadata?.name ?? ''))
      .map((n) => n.metadata?.name ?? '');
    const plan = planScaleDown({
      nodes,
      pods,
      candidates,
      pending: pods.filter(isPendingUnbound),
      utilizationThreshold: this.opts.utilizationThreshold,
    });
    const now = Date.now();
    for (const name of candidates) {
      if (!plan.unneeded.has(name)) {
        if (this.unneededSince.delete(name)) {
          this.opts.logger.debug({ node: name, reason: plan.needed.get(name) }, 'node needed again');
        }
        continue;
      }
      const since = this.unneededSince.get(name) ?? now;
      this.unneededSince.set(name, since);
      if (now - since >= this.opts.scaleDownUnneededMs) {
        this.unneededSince.delete(name);
        this.removing.add(name);
        const p = this.removeNode(name)
          .catch((err) => this.opts.logger.warn({ node: name, err: describeApiError(err) }, 'scale-down failed'))
          .finally(() => {
            this.removing.delete(name);
            this.inflight.delete(p);
            this.trigger();
          });
        this.inflight.add(p);
      }
    }
    for (const name of this.unneededSince.keys()) if (!candidates.includes(name)) this.unneededSince.delete(name);
  }

  /** Taint, re-check, evict, then delete the machine; untaint if a blocker appeared meanwhile. */
  private async removeNode(name: string): Promise<void> {
    const node = this.nodes.store.getByName(undefined, name);
    if (!node) return;
    const taints = [
      ...(node.spec?.taints ?? []).filter((t) => t.key !== TO_BE_DELETED_TAINT),
      { key: TO_BE_DELETED_TAINT, value: String(Math.floor(Date.now() / 1000)), effect: 'NoSchedule' },
    ];
    await this.core.patchNode({ name, body: { spec: { taints } } }, MERGE_PATCH);
    const untaint = async (): Promise<void> => {
      await this.core
        .patchNode({ name, body: { spec: { taints: taints.filter((t) => t.key !== TO_BE_DELETED_TAINT) } } }, MERGE_PATCH)
        .catch((err) => this.opts.logger.warn({ node: name, err: describeApiError(err) }, 'cannot remove scale-down taint'));
    };
    let pods: V1Pod[];
    try {
      // Fresh from the server, not the cache: the scheduler may have just placed a pod here.
      const onNode = (await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items;
      pods = activePodsOn(name, onNode).filter((p) => !isDaemonSetPod(p));
    } catch (err) {
      await untaint();
      throw err;
    }
    const blocker = pods.map((p) => evictionBlocker(p)).find(Boolean);
    if (blocker) {
      this.opts.logger.info({ node: name, blocker }, 'scale-down cancelled');
      await untaint();
      return;
    }
    this.opts.logger.info({ node: name, pods: pods.length }, 'scaling down node');
    void this.recorder.event(nodeRef(node), 'Normal', 'ScaleDown', 'marked the node as toBeDeleted/unschedulable');
    for (const pod of pods) {
      void this.recorder.event(podRef(pod), 'Normal', 'ScaleDown', 'deleting pod for node scale down');
      try {
        await this.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default' });
      } catch (err) {
        if (isNotFound(err)) continue;
        await untaint();
        throw err;
      }
    }
    // Give evicted pods their grace period (the kubelet finishes their deletion), then go.
    const maxGrace = Math.max(0, ...pods.map((p) => p.spec?.terminationGracePeriodSeconds ?? 30));
    const deadline = Date.now() + (maxGrace + 5) * 1000;
    while (
      Date.now() < deadline &&
      !this.abort.signal.aborted &&
      this.pods.store.list().some((p) => p.spec?.nodeName === name && pods.some((q) => q.metadata?.uid === p.metadata?.uid))
    ) {
      await sleep(100, this.abort.signal);
    }
    if (this.abort.signal.aborted) return;
    await this.opts.kubelet.removeNode(name);
    this.opts.logger.info({ node: name }, 'node removed by scale-down');
  }
}

function podRef(pod: V1Pod): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata };
}

function nodeRef(node: V1Node): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: node.metadata };
}

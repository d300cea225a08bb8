import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, describeApiError, EventRecorder, Informer, isConflict, isNotFound, sleep } from '../../kube/index.js';
import { NODE_IP, nodeLabels, nodeObject, nodeResources, nodeStatus, type SimNodeSpec } from './node-object.js';
import { NODE_LEASE_NAMESPACE, renewNodeLease } from './node-lease.js';
import { PodWorker } from './pod-worker.js';
import { KubeletServer, type KubeletServerTls } from './kubelet-server.js';
import { kubeNow } from './time.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KubeletOptions {
  kc: KubeConfig;
  podLogDir: string;
  defaultWorkingDir: string;
  logger: Logger;
  heartbeatIntervalMs: number;
  restartBackoff: { initialMs: number; maxMs: number };
  /** How long stop() lets processes handle SIGTERM before SIGKILL. */
  stopGraceMs: number;
  /** Serve the kubelet endpoint (logs through a real apiserver) with this TLS material. */
  endpoint?: KubeletServerTls;
}

interface NodeEntry {
  spec: SimNodeSpec;
  since: string;
  uid?: string;
  heartbeat: NodeJS.Timeout;
  beats: number;
}

/** Node status is rewritten every this many lease renewals (the lease is the heartbeat). */
const STATUS_EVERY_BEATS = 6;

/** The process kubelet for any number of simulated nodes, sharing one pod informer. */
export class Kubelet {
  private readonly core: CoreV1Api;
  private readonly coord: CoordinationV1Api;
  private readonly nodes = new Map<string, NodeEntry>();
  /** Nodes removed by removeNode(): pods still bound to them are deleted, as the pod GC would. */
  private readonly removedNodes = new Set<string>();
  private readonly workers = new Map<string, { worker: PodWorker; node: string }>();
  private readonly finishing = new Set<string>();
  private readonly adding = new Map<string, Promise<void>>();
  private readonly pods: Informer<V1Pod>;
  private readonly recorder: EventRecorder;
  private readonly abort = new AbortController();
  private server: KubeletServer | undefined;
  private endpointPort = 0;

  constructor(private readonly opts: KubeletOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.coord = opts.kc.makeApiClient(CoordinationV1Api);
    this.recorder = new EventRecorder({ core: this.core, component: 'kubelet', logger: opts.logger });
    this.pods = new Informer<V1Pod>({ kc: opts.kc, path: '/api/v1/pods', logger: opts.logger, name: 'kubelet-pods' });
    this.pods.addEventHandler({
      onAdd: (pod) => this.onPod('ADDED', pod),
      onUpdate: (_old, pod) => this.onPod('MODIFIED', pod),
      onDelete: (pod) => this.onPod('DELETED', pod),
    });
  }

  async start(): Promise<void> {
    if (this.opts.endpoint) {
      this.server = new KubeletServer({
        tls: this.opts.endpoint,
        podLogDir: this.opts.podLogDir,
        pod: (namespace, name) => this.pods.store.get(`${namespace}/${name}`),
        logger: this.opts.logger,
      });
      this.endpointPort = await this.server.start();
    }
    this.pods.start();
    await this.pods.waitForSync();
  }

  async addNode(spec: SimNodeSpec): Promise<void> {
    if (this.nodes.has(spec.name)) return;
    const pending = this.adding.get(spec.name);
    if (pending) return pending;
    const p = this.doAddNode(spec).finally(() => this.adding.delete(spec.name));
    this.adding.set(spec.name, p);
    return p;
  }

  private async doAddNode(spec: SimNodeSpec): Promise<void> {
    this.removedNodes.delete(spec.name);
    const since = kubeNow();
    const uid = await this.register(spec, since);
    if (this.abort.signal.aborted) return;
    const heartbeat = setInterval(() => void this.heartbeat(spec.name), this.opts.heartbeatIntervalMs);
    const entry: NodeEntry = { spec, since, uid, heartbeat, beats: 0 };
    this.nodes.set(spec.name, entry);
    await this.renewLease(entry);
    this.opts.logger.info({ node: spec.name }, 'node registered');
    // Pods may have been bound to this name before it (re)appeared.
    for (const pod of this.pods.store.list()) if (pod.spec?.nodeName === spec.name) this.onPod('MODIFIED', pod);
  }

  /** The machine is gone: its processes die at once, then its Node and pods are deleted. */
  async removeNode(name: string): Promise<void> {
    const entry = this.nodes.get(name);
    if (!entry) return;
    this.nodes.delete(name);
    this.removedNodes.add(name);
    clearInterval(entry.heartbeat);
    const victims = [...this.workers].filter(([, w]) => w.node === name);
    await Promise.all(victims.map(([uid, w]) => {
      this.workers.delete(uid);
      return w.worker.kill(0);
    }));
    try {
      await this.core.deleteNode({ name });
    } catch (err) {
      if (!isNotFound(err)) this.opts.logger.warn({ node: name, err: describeApiError(err) }, 'cannot delete node');
    }
    // The garbage collector would take the Lease (owned by the Node); no need to wait for it.
    await this.coord.deleteNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE }).catch(() => undefined);
    await Promise.all(
      this.pods.store.list().filter((p) => p.spec?.nodeName === name).map((p) => this.forceDelete(p)),
    );
    this.opts.logger.info({ node: name }, 'node removed');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const entry of this.nodes.values()) clearInterval(entry.heartbeat);
    this.nodes.clear();
    await this.pods.stop();
    await this.server?.stop();
    const all = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(all.map((w) => w.worker.kill(this.opts.stopGraceMs)));
  }

  /** Creates (or adopts) the Node and writes its status; resolves with its uid. */
  private async register(spec: SimNodeSpec, since: string): Promise<string | undefined> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    while (!this.abort.signal.aborted) {
      try {
        let uid: string | undefined;
        try {
          uid = (await this.core.createNode({ body: nodeObject(spec, since, this.endpointPort) })).metadata?.uid;
        } catch (err) {
          if (!isConflict(err)) throw err;
          uid = (await this.core.patchNode({ name: spec.name, body: { metadata: { labels: nodeLabels(spec) } } }, MERGE_PATCH)).metadata?.uid;
        }
        // Create may drop status (status subresource), so always write it through /status.
        await this.core.patchNodeStatus({ name: spec.name, body: { status: nodeStatus(spec, since, kubeNow(), this.endpointPort) } }, MERGE_PATCH);
        return uid;
      } catch (err) {
        this.opts.logger.warn({ node: spec.name, err: describeApiError(err) }, 'node registration failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }

  /**
   * Renews the node's Lease, and now and then rewrites its status so it stays Ready (and
   * re-registers the Node if someone deleted it), as a real kubelet does.
   */
  private async heartbeat(name: string): Promise<void> {
    const entry = this.nodes.get(name);
    if (!entry) return;
    entry.beats++;
    await this.renewLease(entry);
    if (entry.beats % STATUS_EVERY_BEATS !== 0) return;
    try {
      await this.core.patchNodeStatus({ name, body: { status: nodeStatus(entry.spec, entry.since, kubeNow(), this.endpointPort) } }, MERGE_PATCH);
    } catch (err) {
      if (isNotFound(err) && this.nodes.get(name) === entry) entry.uid = await this.register(entry.spec, entry.since);
      else this.opts.logger.debug({ node: name, err: describeApiError(err) }, 'node status heartbeat failed');
    }
  }

  private async renewLease(entry: NodeEntry): Promise<void> {
    try {
      await renewNodeLease(this.coord, { name: entry.spec.name, uid: entry.uid });
    } catch (err) {
      this.opts.logger.debug({ node: entry.spec.name, err: describeApiError(err) }, 'node lease renewal failed');
    }
  }

  private onPod(type: string, pod: V1Pod): void {
    if (this.abort.signal.aborted) return;
    const uid = pod.metadata?.uid ?? '';
    if (type === 'DELETED') {
      const w = this.workers.get(uid);
      this.workers.delete(uid);
      this.finishing.delete(uid);
      if (w) void w.worker.kill(0);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const entry = this.nodes.get(nodeName);
    if (!entry) {
      if (this.removedNodes.has(nodeName)) void this.forceDelete(pod);
      return;
    }
    let w = this.workers.get(uid)?.worker;
    if (!w) {
      const phase = pod.status?.phase;
      if ((phase === 'Succeeded' || phase === 'Failed') && !pod.metadata?.deletionTimestamp) return;
      w = new PodWorker(pod, {
        core: this.core,
        nodeName,
        hostIP: NODE_IP,
        podIP: NODE_IP,
        nodeAllocatable: nodeResources(entry.spec),
        podLogDir: this.opts.podLogDir,
        defaultWorkingDir: this.opts.defaultWorkingDir,
        logger: this.opts.logger,
        recorder: this.recorder,
        restartBackoff: this.opts.restartBackoff,
      });
      this.workers.set(uid, { worker: w, node: nodeName });
      if (!pod.metadata?.deletionTimestamp) w.start();
    } else {
      w.update(pod);
    }
    if (pod.metadata?.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      const done = w.terminate(grace);
      if (!this.finishing.has(uid)) {
        this.finishing.add(uid);
        void done.then(() => this.forceDelete(pod));
      }
    }
  }

  /** Finishes a graceful deletion (or GCs an orphan) with gracePeriodSeconds=0, pinned to the uid. */
  private async forceDelete(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    for (let attempt = 0; attempt < 10 && !this.abort.signal.aborted; attempt++) {
      try {
        await this.core.deleteNamespacedPod({
          name,
          namespace,
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
        });
        return;
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) return;
        this.opts.logger.warn({ pod: `${namespace}/${name}`, err: describeApiError(err) }, 'pod delete failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }
}

import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { sleep } from '../../lib/clock.js';

/** Ready=True and no taint the node lifecycle controller puts on nodes it does not trust yet. */
export function nodeSchedulable(node: V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const lifecycleTaint = (node.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'));
  return ready && !lifecycleTaint && !node.spec?.unschedulable;
}

/**
 * Waits until every named node is schedulable on a real control plane: the process kubelet
 * registered it Ready, and kube-controller-manager's node lifecycle controller has lifted the
 * `node.kubernetes.io/not-ready` taint it starts new nodes with.
 */
export async function waitForNodesReady(kc: KubeConfig, names: string[], timeoutMs = 60_000): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let waiting = names;
  while (Date.now() < deadline) {
    const nodes = (await core.listNode().catch(() => undefined))?.items ?? [];
    const ok = new Set(nodes.filter(nodeSchedulable).map((n) => n.metadata?.name));
    waiting = names.filter((n) => !ok.has(n));
    if (waiting.length === 0) return;
    await sleep(200);
  }
  throw new Error(`nodes not Ready and untainted after ${timeoutMs} ms: ${waiting.join(', ')}`);
}

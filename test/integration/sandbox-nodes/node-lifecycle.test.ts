import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { isAlive, readPod, shPod, startCluster, uniqueName, type Cluster } from './harness.js';

/**
 * A pod whose shell starts a background child (same process group) and records both pids.
 * `$$$$` because the kubelet, like Kubernetes, turns `$$` in command/args into `$`.
 */
function familyPod(name: string, pidFile: string, node: string) {
  return shPod(name, `sleep 600 & echo "$$$$ $!" > ${pidFile}; wait`, {
    nodeSelector: { 'kubernetes.io/hostname': node },
    restartPolicy: 'Always',
  });
}

async function pidsOf(pidFile: string): Promise<number[]> {
  await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), {
    message: `pids in ${pidFile}`,
  });
  return readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
}

describe('sandbox kubelet node lifecycle', () => {
  let c: Cluster;
  let stopped = false;
  beforeAll(async () => {
    c = await startCluster({
      nodes: [
        { name: 'life-1', cpu: '4', memory: '8Gi', gpus: 0 },
        { name: 'life-2', cpu: '4', memory: '8Gi', gpus: 0 },
      ],
    });
  });
  afterAll(async () => {
    if (!stopped) await c?.stop();
  });

  it('removing a node kills its processes (children too) and deletes its pods and Node', async () => {
    const name = uniqueName('doomed');
    const pidFile = join(c.work, `${name}.pids`);
    await c.core.createNamespacedPod({ namespace: 'default', body: familyPod(name, pidFile, 'life-2') });
    const pids = await pidsOf(pidFile);
    expect(pids.every(isAlive)).toBe(true);

    await c.kubelet.removeNode('life-2');
    await waitFor(() => pids.every((p) => !isAlive(p)), { message: 'processes of the removed node gone' });
    await waitFor(async () => !(await readPod(c.core, name)), { message: 'pod of the removed node deleted' });
    const nodes = (await c.core.listNode({})).items.map((n) => n.metadata?.name);
    expect(nodes).toEqual(['life-1']);
  });

  it('a node added back under the same name runs pods again', async () => {
    await c.kubelet.addNode({ name: 'life-2', cpu: '4', memory: '8Gi', gpus: 0 });
    const name = uniqueName('again');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, 'echo back', { nodeSelector: { 'kubernetes.io/hostname': 'life-2' } }),
    });
    await waitFor(async () => (await readPod(c.core, name))?.status?.phase === 'Succeeded', { message: 'pod on re-added node' });
  });

  it('stop() leaves no orphan processes', async () => {
    const files = [uniqueName('orphan'), uniqueName('orphan')].map((n, i) => ({ name: n, pidFile: join(c.work, `${n}.pids`), node: `life-${i + 1}` }));
    for (const f of files) await c.core.createNamespacedPod({ namespace: 'default', body: familyPod(f.name, f.pidFile, f.node) });
    const pids = (await Promise.all(files.map((f) => pidsOf(f.pidFile)))).flat();
    expect(pids.every(isAlive)).toBe(true);
    stopped = true;
    await c.stop();
    // stop() resolves only after every process it started has exited; the group's children die with it.
    await waitFor(() => pids.every((p) => !isAlive(p)), { timeoutMs: 5_000, message: 'no orphans after stop()' });
  });
});

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findKubeBinaries, KubeBinariesMissingError, kubeBinDir, KUBE_BINARIES, KUBE_VERSION } from '../../../src/sandbox/control-plane/kube-binaries.js';
import { nodeSchedulable } from '../../../src/sandbox/control-plane/nodes-ready.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function binDir(names: readonly string[], complete: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-kube-bin-'));
  dirs.push(dir);
  for (const n of names) {
    await writeFile(join(dir, n), '#!/bin/sh\n');
    await chmod(join(dir, n), 0o755);
  }
  if (complete) await writeFile(join(dir, '.complete'), `kube=${KUBE_VERSION}\n`);
  return dir;
}

describe('finding the real control plane binaries', () => {
  it('names the build command and every missing binary', async () => {
    const dir = await binDir(['etcd', 'kubectl'], false);
    const err = await findKubeBinaries(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeBinariesMissingError);
    expect((err as KubeBinariesMissingError).missing).toEqual(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    expect((err as Error).message).toContain('npm run kube:build');
  });

  it('treats a build without its completion marker as missing', async () => {
    const err = await findKubeBinaries(await binDir(KUBE_BINARIES, false)).catch((e: unknown) => e);
    expect((err as KubeBinariesMissingError).missing).toEqual(['.complete (an interrupted build)']);
  });

  it('resolves every binary of a complete build', async () => {
    const dir = await binDir(KUBE_BINARIES, true);
    const bins = await findKubeBinaries(dir);
    expect(bins['kube-apiserver']).toBe(join(dir, 'kube-apiserver'));
    expect(bins.dir).toBe(dir);
  });

  it('keys the default cache by release, and lets VISIONQ_KUBE_BIN_DIR override it', () => {
    expect(kubeBinDir({ HOME: '/home/u' })).toBe(`/home/u/.cache/visionq/kube/${KUBE_VERSION}`);
    expect(kubeBinDir({ HOME: '/home/u', XDG_CACHE_HOME: '/c' })).toBe(`/c/visionq/kube/${KUBE_VERSION}`);
    expect(kubeBinDir({ VISIONQ_KUBE_BIN_DIR: '/opt/k' })).toBe('/opt/k');
  });
});

describe('a node is schedulable', () => {
  const node = (ready: string, taints: Array<{ key: string; effect: string }> = []) => ({
    metadata: { name: 'n' },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: ready }] },
  });
  it('when Ready and free of the node lifecycle taints', () => {
    expect(nodeSchedulable(node('True'))).toBe(true);
    expect(nodeSchedulable(node('False'))).toBe(false);
    expect(nodeSchedulable(node('True', [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]))).toBe(false);
    expect(nodeSchedulable(node('True', [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }]))).toBe(true);
  });
});

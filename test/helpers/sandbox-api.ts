import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServerHandle, type ApiServerOptions } from '../../src/sandbox/api-server/index.js';
import { writeKubeconfig } from '../../src/sandbox/kubeconfig.js';

export interface SandboxApi {
  url: string;
  kubeconfigPath: string;
  kc: KubeConfig;
  server: ApiServerHandle;
  /** A fresh temp dir (kubeconfig, pod logs under dir/pod-logs). */
  dir: string;
  cleanup(): Promise<void>;
}

/** Starts the in-memory API server on a free port with its own temp dir and kubeconfig. */
export async function startSandboxApi(opts: ApiServerOptions = {}): Promise<SandboxApi> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-sandbox-api-'));
  const server = await startApiServer({ podLogDir: join(dir, 'pod-logs'), bookmarkIntervalMs: 500, ...opts });
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfigPath, server.url);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    url: server.url,
    kubeconfigPath,
    kc,
    server,
    dir,
    cleanup: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

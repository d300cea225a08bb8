import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as yaml from 'js-yaml';

export const SANDBOX_CONTEXT = 'visionq-sandbox';

/** The kubeconfig document for the sandbox: one cluster/user/context over plain loopback HTTP. */
export function kubeconfigYaml(serverUrl: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node 2.x refuses plain http unless skipTLSVerify is set; kubectl ignores it for http.
    clusters: [{ name: SANDBOX_CONTEXT, cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: SANDBOX_CONTEXT, user: { token: 'visionq-sandbox' } }],
    contexts: [{ name: SANDBOX_CONTEXT, context: { cluster: SANDBOX_CONTEXT, user: SANDBOX_CONTEXT, namespace: 'default' } }],
    'current-context': SANDBOX_CONTEXT,
    preferences: {},
  });
}

/** Writes a kubeconfig (context "visionq-sandbox", insecure http) for kubectl and clients. */
export async function writeKubeconfig(path: string, serverUrl: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(serverUrl), { mode: 0o600 });
}

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type Cluster,
} from '@kubernetes/client-node';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads a kubeconfig: an explicit path, else $KUBECONFIG, else the in-cluster service account,
 * else ~/.kube/config.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) {
    kc.loadFromFile(path);
  } else if (process.env.KUBECONFIG) {
    // loadFromDefault merges a colon-separated KUBECONFIG list the way kubectl does.
    kc.loadFromDefault();
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
    kc.loadFromCluster();
  } else {
    const home = join(homedir(), '.kube', 'config');
    if (existsSync(home)) kc.loadFromFile(home);
    else kc.loadFromDefault();
  }
  return withPooledConnections(withPlainHttpAllowed(kc));
}

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * client-node builds a new undici Agent for every request whenever TLS options are set (also
 * for a plain-http server marked skipTLSVerify), so no connection is ever reused: each API call
 * pays a TCP (and TLS) handshake and its idle socket lingers until the keep-alive timeout. Under
 * load (the controller writes several statuses per job) that was a large share of the CPU of
 * both client and server. One dispatcher per cluster/user pair — the key client-node itself uses
 * for its watch agents — keeps connections pooled. Returns `kc`, changed in place.
 */
export function withPooledConnections(kc: KubeConfig): KubeConfig {
  const apply = kc.applySecurityAuthentication.bind(kc);
  const pooled = new Map<string, Dispatcher>();
  kc.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const key = JSON.stringify([cluster?.name, cluster?.server, user?.name]);
    const shared = pooled.get(key);
    // The fresh agent never opened a connection: dropping it leaks nothing.
    if (shared) context.setDispatcher(shared);
    else pooled.set(key, fresh);
  };
  return kc;
}

/**
 * Plain-http servers (the local sandbox) carry no certificate to verify; marking them
 * skipTLSVerify keeps client-node from trying to build a TLS agent from missing CA data.
 */
export function withPlainHttpAllowed(kc: KubeConfig): KubeConfig {
  if (!kc.clusters.some((c) => c.server.startsWith('http://') && !c.skipTLSVerify)) return kc;
  const clusters: Cluster[] = kc.clusters.map((c) =>
    c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c,
  );
  const fixed = new KubeConfig();
  fixed.loadFromOptions({
    clusters,
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return fixed;
}

export interface KubeClients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  kc: KubeConfig;
}

export function makeClients(kc: KubeConfig): KubeClients {
  return {
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    kc,
  };
}

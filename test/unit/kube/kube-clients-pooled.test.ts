import { describe, expect, it } from 'vitest';
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { withPooledConnections } from '../../../src/kube/kube-clients.js';

function config(server: string, user = 'u'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: user, token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user }],
    currentContext: 'x',
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const ctx = new RequestContext('http://127.0.0.1:1/api', 'GET' as never);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe('withPooledConnections', () => {
  it('client-node alone builds a new dispatcher (no connection reuse) for every request', async () => {
    const kc = config('https://127.0.0.1:6443');
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(await dispatcherOf(kc)).not.toBe(a);
  });

  it('reuses one dispatcher per cluster/user pair, and still sets the auth header', async () => {
    const kc = withPooledConnections(config('https://127.0.0.1:6443'));
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(a);
    const ctx = new RequestContext('http://127.0.0.1:1/api', 'GET' as never);
    await kc.applySecurityAuthentication(ctx);
    expect(ctx.getHeaders().Authorization).toBe('Bearer t');
    const other = withPooledConnections(config('https://127.0.0.1:6444'));
    expect(await dispatcherOf(other)).not.toBe(a);
  });
});

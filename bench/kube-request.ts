/**
 * CPU per Kubernetes write by client path, side by side in one run: the generated client
 * (client-node's CoreV1Api, fetch plus its model serializers), undici's fetch with the same
 * dispatcher, and undici's `request` (what src/kube/kube-request.ts uses for the controller's
 * hot path: VisionJob status and finalizer writes, lists and watches). Each does N
 * read-modify-write PUTs of one ConfigMap against the in-memory sandbox API server in this
 * process, so each figure includes the same server work; the differences are the client's.
 * Run: npx tsx bench/kube-request.ts   (BENCH_ITERATIONS default 1000; two rounds, the second counts)
 */
import { fetch } from 'undici';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { startSandboxApi } from '../test/helpers/sandbox-api.js';
import { loadKubeConfig, makeClients } from '../src/kube/kube-clients.js';
import { requestJson } from '../src/kube/kube-request.js';
import { printTable, writeResult } from './agent-bench-util.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 1000);
const sb = await startSandboxApi();
try {
  const kc = loadKubeConfig(sb.kubeconfigPath);
  const { core } = makeClients(kc);
  const path = '/api/v1/namespaces/default/configmaps/bench';
  const url = kc.getCurrentCluster()!.server + path;
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'bench' }, data: { a: '0' } } });
  type Cm = { data?: Record<string, string> };
  const paths: Record<string, (cm: Cm) => Promise<Cm>> = {
    'generated client': (cm) => core.replaceNamespacedConfigMap({ name: 'bench', namespace: 'default', body: cm as never }) as Promise<Cm>,
    'undici fetch': async (cm) => {
      const ctx = new RequestContext(url, HttpMethod.PUT);
      await kc.applySecurityAuthentication(ctx);
      const res = await fetch(url, { method: 'PUT', headers: { ...ctx.getHeaders(), 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(cm), dispatcher: ctx.getDispatcher() });
      return (await res.json()) as Cm;
    },
    'undici request (kube-request.ts)': (cm) => requestJson<Cm>(kc, 'PUT', path, cm),
  };
  const rows: Record<string, number | string>[] = [];
  for (const round of [1, 2]) {
    for (const [name, put] of Object.entries(paths)) {
      let cm = (await core.readNamespacedConfigMap({ name: 'bench', namespace: 'default' })) as Cm;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) cm = await put({ ...cm, data: { a: String(i) } });
      const c = process.cpuUsage(c0);
      // The first round warms up JIT and connections.
      if (round === 2) rows.push({ client: name, cpuMsPerWrite: +((c.user + c.system) / 1000 / N).toFixed(3), wallMsPerWrite: +((performance.now() - t0) / N).toFixed(3) });
    }
  }
  const base = rows.at(-1)!.cpuMsPerWrite as number;
  for (const r of rows) r['cpu / request'] = +((r.cpuMsPerWrite as number) / base).toFixed(2);
  printTable(`${N} PUTs per client path (client + in-process sandbox server)`, rows);
  console.log('written', await writeResult('kube-request', { iterations: N, result: rows }));
} finally {
  await sb.cleanup();
}

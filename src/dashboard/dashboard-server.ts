/**
 * The dashboard's HTTP server: the built front end, a JSON snapshot, one Server-Sent Events
 * stream per browser fed from the shared informers (no polling of the API server per browser),
 * the detail of one job, the log of its current pod read through the API server (pods/log), and
 * — only when started with allowCancel — deleting a job, which is how a VisionJob is cancelled.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, VISION_JOB_PLURAL } from '../api/constants.js';
import { classifyApiError, describeApiError, statusCodeOf } from '../kube/api-errors.js';
import { silentLogger, type Logger } from '../kube/logger.js';
import { packageRoot } from '../sandbox/package-root.js';
import { DashboardState } from './dashboard-state.js';
import type { Snapshot } from './view-model.js';

/** Where `npm run build` puts the bundled front end. */
export const DEFAULT_ASSETS_DIR = join(packageRoot, 'dist', 'dashboard-web');
const HEARTBEAT_MS = 15_000;
const LOG_TAIL_LINES = 500;

export interface DashboardServerOptions {
  kc: KubeConfig;
  namespace?: string;
  address?: string;
  port?: number;
  allowCancel?: boolean;
  assetsDir?: string;
  logger?: Logger;
  batchMs?: number;
}

export interface DashboardServer {
  url: string;
  state: DashboardState;
  /** Browsers connected to the event stream. */
  clients(): number;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>visionq dashboard</title><link rel="stylesheet" href="/assets/main.css"></head>
<body><div id="app"></div><script type="module" src="/assets/main.js"></script></body></html>
`;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const log = opts.logger ?? silentLogger();
  const state = new DashboardState({ kc: opts.kc, namespace: opts.namespace, logger: log, batchMs: opts.batchMs });
  const core = opts.kc.makeApiClient(CoreV1Api);
  const custom = opts.kc.makeApiClient(CustomObjectsApi);
  const assetsDir = opts.assetsDir ?? DEFAULT_ASSETS_DIR;
  const allowCancel = opts.allowCancel ?? false;
  const streams = new Set<ServerResponse>();

  const snapshot = (): Snapshot => ({ namespace: opts.namespace ?? null, allowCancel, jobs: state.jobRowsNow(), pools: state.poolRowsNow() });
  const send = (res: ServerResponse, event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  state.onBatch((batch) => {
    for (const res of streams) send(res, 'change', batch);
  });

  const jobParams = (url: URL): { namespace: string; name: string } => {
    const namespace = url.searchParams.get('namespace');
    const name = url.searchParams.get('name');
    if (!namespace || !name) throw new HttpError(400, 'namespace and name are required');
    if (opts.namespace && namespace !== opts.namespace) throw new HttpError(404, `namespace ${namespace} is not watched`);
    return { namespace, name };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.html']!, 'cache-control': 'no-cache' });
      res.end(INDEX_HTML);
      return;
    }
    if (req.method === 'GET' && path.startsWith('/assets/')) {
      const rel = normalize(path.slice('/assets/'.length));
      if (rel.startsWith('..') || rel.includes('\0')) throw new HttpError(404, 'not found');
      let body: Buffer;
      try {
        body = await readFile(join(assetsDir, rel));
      } catch {
        throw new HttpError(404, `${rel} not found (run npm run build)`);
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(rel)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && path === '/healthz') return json(200, { ok: true, synced: state.jobs.hasSynced() });
    if (req.method === 'GET' && path === '/api/snapshot') return json(200, snapshot());
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.flushHeaders();
      // The snapshot goes out on the stream itself, so no change can fall between a separate
      // snapshot request and the subscription.
      send(res, 'snapshot', snapshot());
      streams.add(res);
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      req.on('close', () => {
        clearInterval(beat);
        streams.delete(res);
      });
      return;
    }
    if (req.method === 'GET' && path === '/api/job') {
      const { namespace, name } = jobParams(url);
      const job = state.job(namespace, name);
      if (!job) throw new HttpError(404, `VisionJob ${namespace}/${name} not found`);
      const current = job.status?.currentAttempt?.pod;
      // Earlier attempts' pods are named in the job's events (Started/Requeued), not in its status.
      const podNames = new Set<string>(current ? [current] : []);
      for (const e of state.eventsOfJob(namespace, name, [])) {
        for (const m of (e.message ?? '').matchAll(/pod ([a-z0-9][-a-z0-9.]*[a-z0-9])/g)) podNames.add(m[1]!);
      }
      const pod = current ? state.pod(namespace, current) : undefined;
      return json(200, {
        job,
        events: state.eventsOfJob(namespace, name, [...podNames]).map((e) => ({
          type: e.type,
          reason: e.reason,
          message: e.message,
          count: e.count ?? 1,
          object: `${e.involvedObject?.kind}/${e.involvedObject?.name}`,
          firstTimestamp: e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp,
          lastTimestamp: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp,
        })),
        pod: pod ? { name: pod.metadata?.name, phase: pod.status?.phase, node: pod.spec?.nodeName } : current ? { name: current, phase: 'Gone' } : null,
      });
    }
    if (req.method === 'GET' && path === '/api/log') {
      const { namespace, name } = jobParams(url);
      const job = state.job(namespace, name);
      const podName = job?.status?.currentAttempt?.pod;
      if (!podName) throw new HttpError(404, 'the job has no current pod');
      const pod = state.pod(namespace, podName);
      const container = pod?.spec?.containers?.[0]?.name;
      try {
        const text = await core.readNamespacedPodLog({ name: podName, namespace, container, tailLines: LOG_TAIL_LINES });
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-pod': podName });
        res.end(typeof text === 'string' ? text : String(text ?? ''));
      } catch (err) {
        throw new HttpError(statusCodeOf(err) === 404 ? 404 : 502, `log of pod ${podName}: ${describeApiError(err)}`);
      }
      return;
    }
    if (req.method === 'DELETE' && path === '/api/job') {
      if (!allowCancel) throw new HttpError(403, 'cancelling is disabled: start the dashboard with --allow-cancel');
      const { namespace, name } = jobParams(url);
      try {
        await custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: VISION_JOB_PLURAL, name });
      } catch (err) {
        const kind = classifyApiError(err);
        throw new HttpError(kind === 'not-found' ? 404 : statusCodeOf(err) === 403 ? 403 : 502, describeApiError(err));
      }
      log.info({ job: `${namespace}/${name}` }, 'job cancelled from the dashboard');
      return json(202, { cancelled: `${namespace}/${name}` });
    }
    throw new HttpError(404, 'not found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!(err instanceof HttpError)) log.error({ err }, 'dashboard request failed');
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });

  if (!(await state.start())) throw new Error('dashboard informers stopped before they synced');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8090, opts.address ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    state,
    clients: () => streams.size,
    async stop() {
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.stop();
    },
  };
}

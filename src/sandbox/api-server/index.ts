import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ApiError, pathNotFound } from './errors.js';
import { ResourceRegistry, storageKey } from './resource-registry.js';
import { builtinResources } from './builtin-resources.js';
import { ObjectStore, StoreConflictError } from './storage/store.js';
import { ResourceService } from './resource-service.js';
import { wireCrdServing } from './crd/crd-serving.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { NamespaceController } from './controllers/namespace-controller.js';
import { WatchHub } from './http/watch.js';
import { FaultState, type FaultSwitches } from './faults.js';
import { handleResource, sendJson, verbOf, type RestContext } from './http/rest-handlers.js';
import { parseResourcePath } from './http/request-path.js';
import { coreVersions, group, groupList, resourceList, versionInfo } from './http/discovery.js';
import { groupVersionDoc, openApiIndex } from './http/openapi.js';
import { loadCrValidator } from './crd/cr-validator-loader.js';

export type { FaultSwitches, FailNextOptions, ExpireWatchesOptions } from './faults.js';

export interface ApiServerOptions {
  host?: string;
  port?: number;
  logger?: Logger;
  bookmarkIntervalMs?: number;
  /** Watch history kept before watches from older resourceVersions get 410 Expired. */
  eventLogLimit?: number;
  /** Reported by /version; kubectl picks its behaviour from it. */
  kubernetesMinor?: number;
  /** Where the kubelet writes `${namespace}/${pod}/${container}.log`. */
  podLogDir?: string;
  /** Injected clock for timestamps. */
  clock?: () => Date;
}

export interface ApiServerHandle {
  url: string;
  port: number;
  faults: FaultSwitches;
  /**
   * Requests served so far by `<verb> <resource>[/<subresource>]`, and refused ones also under
   * `... <code>` (what a benchmark counts per job).
   */
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the sandbox's in-memory Kubernetes-compatible API server on loopback HTTP. */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServerHandle> {
  const clock = opts.clock ?? (() => new Date());
  const logger = opts.logger;
  const store = new ObjectStore(opts.eventLogLimit ?? 10_000);
  const registry = new ResourceRegistry();
  for (const r of builtinResources()) registry.add(r);
  const validator = await loadCrValidator(logger);
  const service = new ResourceService(store, registry, () => validator, clock, logger);
  const serveCrd = wireCrdServing(store, registry);
  service.bootstrap();
  const gc = new GarbageCollector(store, registry, service, logger);
  gc.start();
  const namespaces = new NamespaceController(store, registry, service, clock, logger);
  namespaces.start();
  const watches = new WatchHub(store, (info, o) => service.present(info, o), opts.bookmarkIntervalMs ?? 5_000, clock, logger);
  service.onCrdChange = (crd, deleted) => {
    serveCrd(crd, deleted);
    if (deleted && crd.spec?.group && crd.spec?.names?.plural) watches.closeKey(storageKey(crd.spec.group, crd.spec.names.plural));
  };
  const faults = new FaultState(() => watches.dropAll(), () => store.compact());
  const ctx: RestContext = { registry, service, watches, faults, clock, podLogDir: opts.podLogDir };
  const minor = opts.kubernetesMinor ?? 30;
  const counts = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const pathname = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = method === 'GET' ? '' : await readBody(req);
    if (pathname === '/_sandbox/faults' && method === 'POST') {
      try {
        return sendJson(res, 200, faults.command(JSON.parse(raw || '{}')));
      } catch (err) {
        return sendJson(res, 400, new ApiError(400, 'BadRequest', (err as Error).message).toStatus());
      }
    }
    const rpath = parseResourcePath(pathname, registry);
    const verb = verbOf(method, rpath, q);
    const counted = rpath ? `${verb} ${rpath.plural}${rpath.subresource ? `/${rpath.subresource}` : ''}` : verb;
    counts.set(counted, (counts.get(counted) ?? 0) + 1);
    // Refused ones again under their code: a 409 is a write that has to be made twice.
    res.once('finish', () => {
      if (res.statusCode >= 400) counts.set(`${counted} ${res.statusCode}`, (counts.get(`${counted} ${res.statusCode}`) ?? 0) + 1);
    });
    const decision = faults.decide(pathname, verb, method, raw);
    if (decision.latencyMs > 0) await new Promise((r) => setTimeout(r, decision.latencyMs));
    if (decision.fail) {
      const { status, retryAfterSeconds } = decision.fail;
      const err =
        status === 429
          ? new ApiError(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', { retryAfterSeconds })
          : status === 422
            ? new ApiError(422, 'Invalid', 'injected fault: the object is invalid', {})
            : new ApiError(500, 'InternalError', 'Internal error occurred: injected fault', {});
      return sendJson(res, status, err.toStatus(), status === 429 ? { 'Retry-After': String(retryAfterSeconds) } : {});
    }
    if (rpath) return handleResource(ctx, req, res, rpath, q, raw);
    if (method !== 'GET') throw pathNotFound(pathname);
    if (pathname === '/version') return sendJson(res, 200, versionInfo(minor));
    if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (pathname === '/api') return sendJson(res, 200, coreVersions());
    if (pathname === '/apis') return sendJson(res, 200, groupList(registry));
    if (pathname === '/openapi/v3') return sendJson(res, 200, openApiIndex(registry));
    const parts = pathname.split('/').filter((p) => p !== '');
    if (parts[0] === 'api' && parts.length === 2) {
      const list = resourceList(registry, '', parts[1]!);
      if (list) return sendJson(res, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = group(registry, parts[1]!);
      if (g) return sendJson(res, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = resourceList(registry, parts[1]!, parts[2]!);
      if (list) return sendJson(res, 200, list);
    }
    if (parts[0] === 'openapi' && parts[1] === 'v3') {
      const [g, v] = parts[2] === 'api' ? ['', parts[3]] : [parts[3], parts[4]];
      const doc = v !== undefined && g !== undefined ? groupVersionDoc(registry, g, v) : undefined;
      if (doc) return sendJson(res, 200, doc);
    }
    throw pathNotFound(pathname);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const apiErr =
        err instanceof ApiError
          ? err
          : err instanceof StoreConflictError
            ? new ApiError(409, 'Conflict', `Operation cannot be fulfilled: ${err.message}; please apply your changes to the latest version and try again`, {}, { cause: err })
            : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`, {}, { cause: err });
      if (apiErr.code === 500) logger?.error({ err, url: req.url, method: req.method }, 'request failed');
      if (res.headersSent) {
        res.end();
        return;
      }
      sendJson(res, apiErr.code, apiErr.toStatus());
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  logger?.info({ port }, 'sandbox API server listening');
  return {
    url: `http://${host}:${port}`,
    port,
    faults,
    requestCounts: () => Object.fromEntries(counts),
    close: async () => {
      gc.stop();
      namespaces.stop();
      watches.dropAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

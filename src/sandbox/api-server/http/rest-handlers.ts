import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, expired, methodNotAllowed } from '../errors.js';
import type { ResourcePath } from './request-path.js';
import { apiVersionOf, type ResourceInfo, type ResourceRegistry } from '../resource-registry.js';
import type { DeleteOptions, ResourceService, WriteOptions } from '../resource-service.js';
import { parseFieldSelector, parseLabelSelector } from '../storage/selectors.js';
import type { KubeObject } from '../storage/store.js';
import { buildTable, wantsTable } from './table.js';
import type { WatchHub } from './watch.js';
import type { FaultState } from '../faults.js';
import { serveLog } from './pod-logs.js';
import type { FieldValidation } from '../crd/cr-validation.js';

export interface RestContext {
  registry: ResourceRegistry;
  service: ResourceService;
  watches: WatchHub;
  faults: FaultState;
  clock: () => Date;
  podLogDir?: string;
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function warningHeaders(warnings: string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function writeOptions(q: URLSearchParams): WriteOptions {
  const fv = q.get('fieldValidation');
  return {
    dryRun: q.getAll('dryRun').includes('All'),
    fieldValidation: fv === 'Strict' || fv === 'Warn' || fv === 'Ignore' ? (fv as FieldValidation) : undefined,
    fieldManager: q.get('fieldManager') ?? undefined,
    force: q.get('force') === 'true',
  };
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `error decoding request body: ${(err as Error).message}`, undefined, { cause: err });
  }
}

interface Continue {
  rv: number;
  after: string;
}

function encodeContinue(c: Continue): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeContinue(s: string): Continue {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (typeof c.rv === 'number' && typeof c.after === 'string') return c;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** The Kubernetes verb of a request, for fault matching and logs. */
export function verbOf(method: string, path: ResourcePath | undefined, q: URLSearchParams): string {
  const m = method.toUpperCase();
  if (!path) return m.toLowerCase();
  const watch = path.watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
  if (m === 'GET') return watch ? 'watch' : path.name ? 'get' : 'list';
  if (m === 'POST') return 'create';
  if (m === 'PUT') return 'update';
  if (m === 'PATCH') return 'patch';
  if (m === 'DELETE') return path.name ? 'delete' : 'deletecollection';
  return m.toLowerCase();
}

/** Handles one resource request. */
export async function handleResource(ctx: RestContext, req: IncomingMessage, res: ServerResponse, path: ResourcePath, q: URLSearchParams, raw: string): Promise<void> {
  const info = ctx.registry.get(path.group, path.version, path.plural);
  if (!info) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`, {});
  const method = (req.method ?? 'GET').toUpperCase();
  const ns = info.namespaced ? path.namespace : undefined;
  if (info.namespaced && path.namespace === undefined && path.name !== undefined) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  }
  if (info.group === '' && info.plural === 'bindings') {
    // The legacy binding endpoint: POST /api/v1/namespaces/NS/bindings with the pod's name.
    if (method !== 'POST' || path.name !== undefined) throw methodNotAllowed();
    const body: any = parseJson(raw);
    ctx.service.bind(ns!, String(body?.metadata?.name ?? ''), body);
    return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }
  const sub = path.subresource;
  if (sub !== undefined) return handleSubresource(ctx, req, res, info, path, q, raw, sub);

  if (path.name === undefined) {
    if (method === 'GET') return handleList(ctx, req, res, info, ns, q, path.watchPath);
    if (method === 'POST') {
      const r = await ctx.service.create(info, ns, parseJson(raw), writeOptions(q));
      return sendJson(res, 201, r.object, warningHeaders(r.warnings));
    }
    if (method === 'DELETE') return handleDeleteCollection(ctx, res, info, ns, q, raw);
    throw methodNotAllowed();
  }
  const name = path.name;
  switch (method) {
    case 'GET': {
      if (path.watchPath || q.get('watch') === 'true') {
        return startWatch(ctx, req, res, info, ns, q, `metadata.name=${name}`);
      }
      const obj = ctx.service.get(info, ns, name);
      if (wantsTable(req.headers.accept)) return sendJson(res, 200, buildTable(info, [obj], ctx.clock(), { resourceVersion: obj.metadata.resourceVersion }));
      return sendJson(res, 200, obj);
    }
    case 'PUT': {
      const r = await ctx.service.update(info, ns, name, parseJson(raw), writeOptions(q));
      return sendJson(res, 200, r.object, warningHeaders(r.warnings));
    }
    case 'PATCH': {
      const r = await ctx.service.patch(info, ns, name, req.headers['content-type'] ?? '', raw, writeOptions(q));
      return sendJson(res, r.created ? 201 : 200, r.object, warningHeaders(r.warnings));
    }
    case 'DELETE': {
      const r = await ctx.service.delete(info, ns, name, deleteOptions(q, raw));
      return sendJson(res, 200, r.object);
    }
    default:
      throw methodNotAllowed();
  }
}

function deleteOptions(q: URLSearchParams, raw: string): DeleteOptions {
  const body: any = parseJson(raw) ?? {};
  const grace = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  const policy = q.get('propagationPolicy') ?? body.propagationPolicy;
  return {
    gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
    propagationPolicy: policy ?? undefined,
    preconditions: body.preconditions,
    dryRun: q.getAll('dryRun').includes('All') || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
  };
}

async function handleSubresource(ctx: RestContext, req: IncomingMessage, res: ServerResponse, info: ResourceInfo, path: ResourcePath, q: URLSearchParams, raw: string, sub: string): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const ns = info.namespaced ? path.namespace : undefined;
  const name = path.name!;
  const isPod = info.group === '' && info.plural === 'pods';
  if (sub === 'status' && info.statusSubresource) {
    if (method === 'GET') return sendJson(res, 200, ctx.service.get(info, ns, name));
    if (method === 'PUT') {
      const r = await ctx.service.update(info, ns, name, parseJson(raw), writeOptions(q), 'status');
      return sendJson(res, 200, r.object, warningHeaders(r.warnings));
    }
    if (method === 'PATCH') {
      const r = await ctx.service.patch(info, ns, name, req.headers['content-type'] ?? '', raw, writeOptions(q), 'status');
      return sendJson(res, 200, r.object, warningHeaders(r.warnings));
    }
    throw methodNotAllowed();
  }
  if (sub === 'binding' && isPod && method === 'POST') {
    ctx.service.bind(ns!, name, parseJson(raw));
    return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }
  if (sub === 'log' && isPod && method === 'GET') {
    const pod = ctx.service.get(info, ns, name);
    if (!ctx.podLogDir) throw badRequest('pod logs are not available: the sandbox API server has no podLogDir');
    const tail = q.get('tailLines');
    await serveLog(ctx.podLogDir, {
      namespace: ns!,
      pod,
      container: q.get('container') ?? undefined,
      tailLines: tail === null ? undefined : Number(tail),
      follow: q.get('follow') === 'true',
      current: () => ctx.service.tryGet(info, ns, name),
    }, res);
    return;
  }
  if (sub === 'finalize' && info.plural === 'namespaces' && method === 'PUT') {
    const r = await ctx.service.update(info, ns, name, parseJson(raw), writeOptions(q));
    return sendJson(res, 200, r.object);
  }
  throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function handleList(ctx: RestContext, req: IncomingMessage, res: ServerResponse, info: ResourceInfo, ns: string | undefined, q: URLSearchParams, watchPath: boolean): void {
  if (watchPath || q.get('watch') === 'true' || q.get('watch') === '1') return startWatch(ctx, req, res, info, ns, q);
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'), info.kind, !!info.crdName);
  const limit = Number(q.get('limit') ?? 0);
  const cont = q.get('continue');
  let rv = ctx.service.store.currentRv();
  let after = '';
  if (cont) {
    const c = decodeContinue(cont);
    if (c.rv < ctx.service.store.compactedThrough()) {
      throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
    }
    rv = c.rv;
    after = c.after;
  }
  const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  let items = ctx.service.list(info, ns).filter((o) => labels(o) && fields(o));
  if (after) items = items.filter((o) => keyOf(o) > after);
  const meta: Record<string, unknown> = { resourceVersion: String(rv) };
  if (limit > 0 && items.length > limit) {
    const page = items.slice(0, limit);
    meta.continue = encodeContinue({ rv, after: keyOf(page[page.length - 1]!) });
    meta.remainingItemCount = items.length - limit;
    items = page;
  }
  if (wantsTable(req.headers.accept)) return sendJson(res, 200, buildTable(info, items, ctx.clock(), meta));
  sendJson(res, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: meta, items });
}

function startWatch(ctx: RestContext, req: IncomingMessage, res: ServerResponse, info: ResourceInfo, ns: string | undefined, q: URLSearchParams, extraField?: string): void {
  const fieldSel = [q.get('fieldSelector'), extraField].filter((s): s is string => !!s).join(',');
  const timeout = q.get('timeoutSeconds');
  const watchReq = {
    info,
    namespace: ns,
    labels: parseLabelSelector(q.get('labelSelector')),
    fields: parseFieldSelector(fieldSel, info.kind, !!info.crdName),
    resourceVersion: q.get('resourceVersion') ?? undefined,
    allowBookmarks: q.get('allowWatchBookmarks') === 'true',
    timeoutSeconds: timeout === null ? undefined : Number(timeout),
    table: wantsTable(req.headers.accept),
    forceExpiredEvent: false,
  };
  const forced = ctx.faults.takeExpiry();
  if (forced === 'status') throw expired(`too old resource version: ${watchReq.resourceVersion ?? '0'} (${ctx.service.store.compactedThrough()})`);
  if (forced === 'event') watchReq.forceExpiredEvent = true;
  const replay = forced ? [] : ctx.watches.history(watchReq);
  ctx.watches.serve(watchReq, res, replay);
}

async function handleDeleteCollection(ctx: RestContext, res: ServerResponse, info: ResourceInfo, ns: string | undefined, q: URLSearchParams, raw: string): Promise<void> {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'), info.kind, !!info.crdName);
  const opts = deleteOptions(q, raw);
  const items: KubeObject[] = [];
  for (const o of ctx.service.list(info, ns).filter((x) => labels(x) && fields(x))) {
    try {
      items.push((await ctx.service.delete(info, o.metadata.namespace, o.metadata.name, opts)).object);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  sendJson(res, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(ctx.service.store.currentRv()) }, items });
}


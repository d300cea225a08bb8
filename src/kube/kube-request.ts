import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
// The same undici client-node uses (package.json overrides it), so its TLS dispatcher fits.
import { request } from 'undici';
import { KubeHttpError } from './api-errors.js';

/**
 * Raw requests: generic over core kinds and custom resources, exposing the HTTP status (410 on
 * a watch) that the generated clients and makeInformer hide. They go through undici's
 * `request`, not `fetch`: on the controller's hot path (status writes, watches) fetch's
 * WHATWG layers cost ~0.4 ms of CPU per request more, and the generated clients (fetch plus
 * their model serializers) ~0.7 ms more (bench/kube-request.ts).
 */
export type Query = Record<string, string | number | boolean | undefined>;

interface SendOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

async function send(kc: KubeConfig, path: string, query: Query, opts: SendOptions = {}) {
  const method = opts.method ?? 'GET';
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  const ctx = new RequestContext(url.toString(), HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await request(url, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    dispatcher: ctx.getDispatcher(),
    signal: opts.signal,
  });
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await res.body.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    const hdrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(', ') : v;
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : `HTTP ${res.statusCode}`;
    throw new KubeHttpError(res.statusCode, `${method} ${path}: ${message}`, body, hdrs);
  }
  return res;
}

export async function getJson<T>(kc: KubeConfig, path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
  const res = await send(kc, path, query, { signal });
  return (await res.body.json()) as T;
}

/**
 * A JSON request with the object sent exactly as given. The generated clients re-serialize
 * bodies through their models, which silently drops keys they do not model under the wire
 * name (e.g. a CRD schema's `x-kubernetes-preserve-unknown-fields` read from YAML).
 */
export async function requestJson<T>(kc: KubeConfig, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, query: Query = {}): Promise<T> {
  const res = await send(kc, path, query, { method, body });
  return (await res.body.json()) as T;
}

export interface RawWatchEvent {
  type: string;
  object: unknown;
}

/**
 * Streams watch events (one JSON object per line) to `onEvent` until the server closes the
 * stream, the signal aborts, or no byte arrives for `idleTimeoutMs` (a dead connection).
 * Resolves on a clean end; rejects with the HTTP error or the stream error.
 */
export async function watchStream(
  kc: KubeConfig,
  path: string,
  query: Query,
  onEvent: (event: RawWatchEvent) => void,
  opts: { signal?: AbortSignal; idleTimeoutMs: number; onOpen?: () => void },
): Promise<void> {
  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort(opts.signal?.reason);
  if (opts.signal?.aborted) return;
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  let idleFired = false;
  const armIdle = (): void => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      idleFired = true;
      ac.abort(new Error('watch idle timeout'));
    }, opts.idleTimeoutMs);
    idle.unref();
  };
  try {
    armIdle();
    const res = await send(kc, path, { ...query, watch: 'true' }, { signal: ac.signal });
    opts.onOpen?.();
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      armIdle();
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let ev: RawWatchEvent;
        try {
          ev = JSON.parse(line) as RawWatchEvent;
        } catch (err) {
          throw new Error(`unparseable watch event: ${line.slice(0, 200)}`, { cause: err });
        }
        onEvent(ev);
      }
    }
  } catch (err) {
    // An abort from our own stop() is a clean end; an idle timeout is a (retryable) error.
    if (opts.signal?.aborted && !idleFired) return;
    throw err;
  } finally {
    if (idle) clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    ac.abort();
  }
}

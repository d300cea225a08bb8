/**
 * The one place that maps Kubernetes API errors to what a controller should do about them.
 */
export type ApiErrorClass =
  | 'not-found' // 404: the object is gone, the work is done
  | 'conflict' // 409: stale resourceVersion or already exists: requeue now, re-read
  | 'expired' // 410: resourceVersion too old: relist
  | 'invalid' // 400/422: the request is wrong: retrying unchanged will not help
  | 'throttled' // 429: back off, honour Retry-After
  | 'server' // 5xx: back off
  | 'network' // no HTTP answer: back off
  | 'unknown';

/** A watch ended with 410 Gone (HTTP status or ERROR event): the caller must relist. */
export class ResourceExpiredError extends Error {
  override readonly name = 'ResourceExpiredError';
  readonly code = 410;
  constructor(message = 'resourceVersion expired', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A non-2xx answer from a raw request (list/watch) made outside the generated clients. */
export class KubeHttpError extends Error {
  override readonly name = 'KubeHttpError';
  constructor(
    readonly code: number,
    message: string,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
]);

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** Parses a body that may be a Status object or its JSON text. */
export function statusBodyOf(err: unknown): Record<string, unknown> | undefined {
  const body = asRecord(err)?.body;
  if (typeof body === 'string') {
    try {
      return asRecord(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return asRecord(body);
}

/** The HTTP status of an API error, whichever client produced it; undefined when there was none. */
export function statusCodeOf(err: unknown): number | undefined {
  const e = asRecord(err);
  if (!e) return undefined;
  for (const k of ['code', 'statusCode', 'status']) {
    const v = e[k];
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
  }
  const resp = asRecord(e.response);
  if (resp && typeof resp.status === 'number') return resp.status;
  const body = statusBodyOf(err);
  if (body && body.kind === 'Status' && typeof body.code === 'number') return body.code;
  return undefined;
}

function causeChain(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && asRecord(cur); i++) {
    out.push(asRecord(cur)!);
    cur = asRecord(cur)!.cause;
  }
  return out;
}

function isNetworkError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
    if (e.name === 'FetchError' || e.name === 'SocketError') return true;
  }
  return false;
}

export function classifyApiError(err: unknown): ApiErrorClass {
  const code = statusCodeOf(err);
  if (code === undefined) {
    return isNetworkError(err) ? 'network' : 'unknown';
  }
  if (code === 404) return 'not-found';
  if (code === 409) return 'conflict';
  if (code === 410) return 'expired';
  if (code === 400 || code === 422) return 'invalid';
  if (code === 429) return 'throttled';
  if (code >= 500) return 'server';
  return 'unknown';
}

export function isNotFound(err: unknown): boolean {
  return classifyApiError(err) === 'not-found';
}

export function isConflict(err: unknown): boolean {
  return classifyApiError(err) === 'conflict';
}

/** Whether a blind retry of the same request can succeed. */
export function isRetryable(err: unknown): boolean {
  const c = classifyApiError(err);
  return c === 'conflict' || c === 'expired' || c === 'throttled' || c === 'server' || c === 'network';
}

/** Retry-After in ms (header seconds, or Status details.retryAfterSeconds), if the server sent one. */
export function retryAfterMsOf(err: unknown): number | undefined {
  const headers = asRecord(asRecord(err)?.headers);
  if (headers) {
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() === 'retry-after') {
        const n = Number(v);
        if (Number.isFinite(n) && n >= 0) return n * 1000;
      }
    }
  }
  const details = asRecord(statusBodyOf(err)?.details);
  const s = details?.retryAfterSeconds;
  if (typeof s === 'number' && s >= 0) return s * 1000;
  return undefined;
}

/** A short, log-friendly description (ApiException messages embed whole bodies and headers). */
export function describeApiError(err: unknown): string {
  const code = statusCodeOf(err);
  const body = statusBodyOf(err);
  const msg = typeof body?.message === 'string' ? body.message : err instanceof Error ? err.message.split('\n')[0] : String(err);
  return code === undefined ? msg : `${code}: ${msg}`;
}

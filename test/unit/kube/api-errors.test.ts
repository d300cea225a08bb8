import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  classifyApiError,
  describeApiError,
  isRetryable,
  KubeHttpError,
  ResourceExpiredError,
  retryAfterMsOf,
  statusCodeOf,
} from '../../../src/kube/api-errors.js';

const status = (code: number, message = 'x', extra: object = {}) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message, ...extra });

describe('classifyApiError', () => {
  it('maps client-node ApiException codes to actions', () => {
    const cases: [number, string][] = [
      [404, 'not-found'],
      [409, 'conflict'],
      [410, 'expired'],
      [422, 'invalid'],
      [400, 'invalid'],
      [429, 'throttled'],
      [500, 'server'],
      [503, 'server'],
      [403, 'unknown'],
    ];
    for (const [code, cls] of cases) {
      expect(classifyApiError(new ApiException(code, 'm', status(code), {}))).toBe(cls);
    }
  });

  it('reads the code from raw errors, watch errors and Status bodies', () => {
    expect(statusCodeOf(new KubeHttpError(410, 'gone'))).toBe(410);
    expect(classifyApiError(new ResourceExpiredError())).toBe('expired');
    expect(statusCodeOf(Object.assign(new Error('x'), { statusCode: 500 }))).toBe(500);
    expect(statusCodeOf({ body: { kind: 'Status', code: 409 } })).toBe(409);
    expect(statusCodeOf(new Error('plain'))).toBeUndefined();
  });

  it('recognises network failures through the cause chain', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(classifyApiError(refused)).toBe('network');
    expect(classifyApiError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('network');
    expect(classifyApiError(new DOMException('timeout', 'TimeoutError'))).toBe('network');
    expect(classifyApiError(new Error('something odd'))).toBe('unknown');
  });

  it('retries what can succeed unchanged, not invalid requests', () => {
    expect(isRetryable(new ApiException(503, 'm', '', {}))).toBe(true);
    expect(isRetryable(new ApiException(409, 'm', '', {}))).toBe(true);
    expect(isRetryable(new ApiException(422, 'm', '', {}))).toBe(false);
    expect(isRetryable(new ApiException(404, 'm', '', {}))).toBe(false);
  });
});

describe('retryAfterMsOf', () => {
  it('reads the Retry-After header, else Status details', () => {
    expect(retryAfterMsOf(new ApiException(429, 'm', '', { 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMsOf(new KubeHttpError(429, 'm', { kind: 'Status', details: { retryAfterSeconds: 3 } }))).toBe(3000);
    expect(retryAfterMsOf(new ApiException(500, 'm', '', {}))).toBeUndefined();
  });
});

describe('describeApiError', () => {
  it('prefers the Status message over the long ApiException text', () => {
    expect(describeApiError(new ApiException(422, 'm', status(422, 'spec.pool: Required'), {}))).toBe(
      '422: spec.pool: Required',
    );
  });
});

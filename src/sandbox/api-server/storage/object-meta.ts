import { randomUUID } from 'node:crypto';
import type { KubeObject } from './store.js';

const ALPHANUM = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix the real server appends to generateName. */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUM[Math.floor(Math.random() * ALPHANUM.length)];
  return s;
}

export function newUid(): string {
  return randomUUID();
}

/** RFC 3339 with second precision, as Kubernetes writes metav1.Time. */
export function nowTimestamp(clock: () => Date = () => new Date()): string {
  return clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality for JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Everything but metadata and status: what counts as "spec" for a custom resource's generation. */
export function specPart(obj: KubeObject, isCustom: boolean): unknown {
  if (!isCustom) return obj.spec;
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** A DNS-1123 subdomain, the rule for most object names. */
export function validName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

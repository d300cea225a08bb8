/**
 * Idempotent submission by deterministic name: the job's name is derived from the idempotency
 * key, so the API server's own uniqueness of names guarantees at most one job per key, even when
 * two replicas of a backend submit at the same moment (a label plus list-then-create would race).
 * A repeated create answers 409 AlreadyExists; the client then reads the existing job and returns
 * it when it was submitted with the same key and spec, recorded in two annotations.
 */
import { createHash } from 'node:crypto';

export const IDEMPOTENCY_KEY_ANNOTATION = 'visionq.dev/idempotency-key';
export const SUBMIT_HASH_ANNOTATION = 'visionq.dev/submit-hash';
export const TENANT_LABEL = 'visionq.dev/tenant';

const DEFAULT_PREFIX = 'vj-';
const HASH_CHARS = 20; // 80 bits: collisions between keys of one namespace are not a concern
const MAX_PREFIX = 63 - HASH_CHARS;

/** `prefix` + the first 20 hex digits of sha256(key): a valid DNS-1123 label. */
export function nameForKey(key: string, prefix = DEFAULT_PREFIX): string {
  let p = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, MAX_PREFIX);
  if (!/^[a-z0-9]/.test(p)) p = `vj${p}`.slice(0, MAX_PREFIX);
  return p + createHash('sha256').update(key).digest('hex').slice(0, HASH_CHARS);
}

/** Hash of what the caller submitted (before server-side defaulting), keys sorted. */
export function submitHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

import { badRequest } from '../errors.js';
import type { KubeObject } from './store.js';

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type Matcher = (obj: KubeObject) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelRequirement(term: string): Requirement {
  let m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { op: m[2] as 'in' | 'notin', key: m[1]!, values };
  }
  m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$/.exec(term);
  if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
  m = /^!\s*([^\s!=()]+)$/.exec(term);
  if (m) return { op: 'notexists', key: m[1]! };
  m = /^([^\s!=()]+)$/.exec(term);
  if (m) return { op: 'exists', key: m[1]! };
  throw badRequest(`unable to parse requirement: ${term}`);
}

function matchRequirement(r: Requirement, get: (k: string) => string | undefined): boolean {
  const v = get(r.key);
  switch (r.op) {
    case 'eq':
      return v === r.value;
    case 'neq':
      return v !== r.value;
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return v !== undefined;
    case 'notexists':
      return v === undefined;
  }
}

/** Parses `a=b,c!=d,e in (x),!f,g` into a matcher over metadata.labels. */
export function parseLabelSelector(s: string | undefined | null): Matcher {
  if (!s || s.trim() === '') return () => true;
  const reqs = splitTop(s).map(parseLabelRequirement);
  return (obj) => {
    const labels: Record<string, string> = obj.metadata?.labels ?? {};
    return reqs.every((r) => matchRequirement(r, (k) => (Object.prototype.hasOwnProperty.call(labels, k) ? labels[k] : undefined)));
  };
}

function pathValue(obj: KubeObject, path: string): string | undefined {
  let cur: any = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Fields each kind supports in field selectors (besides metadata.name/namespace). */
const SUPPORTED_FIELDS: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'status.nominatedNodeName'],
  Event: [
    'involvedObject.kind',
    'involvedObject.name',
    'involvedObject.namespace',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
    'regarding.kind',
    'regarding.name',
    'regarding.namespace',
    'regarding.uid',
  ],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  Secret: ['type'],
};

/** Parses `metadata.name=x,spec.nodeName!=` into a matcher; unknown fields are a 400 like the real server. */
export function parseFieldSelector(s: string | undefined | null, kind: string, isCustom: boolean): Matcher {
  if (!s || s.trim() === '') return () => true;
  const reqs = splitTop(s).map((term) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = m[1]!;
    const allowed = field === 'metadata.name' || field === 'metadata.namespace' || (!isCustom && (SUPPORTED_FIELDS[kind] ?? []).includes(field));
    if (!allowed) throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    return { field, neq: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) =>
    reqs.every((r) => {
      let v = pathValue(obj, r.field);
      if (r.field === 'source' && kind === 'Event') v = obj.source?.component;
      if (r.field === 'spec.unschedulable' && v === undefined) v = 'false';
      const actual = v ?? '';
      return r.neq ? actual !== r.value : actual === r.value;
    });
}

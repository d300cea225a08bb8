import { badRequest, ApiError } from '../errors.js';

type Json = any;

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, any> = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(p: string): string {
  return p.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map(unescapePointer);
}

function resolveParent(doc: Json, tokens: string[], op: string, path: string): { parent: any; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function missing(op: string, path: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${path}"`);
}

/** RFC 6902 JSON patch. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  let doc = structuredClone(target);
  for (const op of ops) {
    const path: string = op.path ?? '';
    const tokens = parsePointer(path);
    const add = (value: Json): void => {
      if (tokens.length === 0) {
        doc = structuredClone(value);
        return;
      }
      const { parent, key } = resolveParent(doc, tokens, op.op, path);
      if (Array.isArray(parent)) {
        const idx = key === '-' ? parent.length : Number(key);
        if (!(idx >= 0 && idx <= parent.length)) throw missing(op.op, path);
        parent.splice(idx, 0, structuredClone(value));
      } else if (isObject(parent)) parent[key] = structuredClone(value);
      else throw missing(op.op, path);
    };
    const remove = (): Json => {
      const { parent, key } = resolveParent(doc, tokens, op.op, path);
      if (Array.isArray(parent)) {
        const idx = Number(key);
        if (!(idx >= 0 && idx < parent.length)) throw missing(op.op, path);
        return parent.splice(idx, 1)[0];
      }
      if (!isObject(parent) || !(key in parent)) throw missing(op.op, path);
      const v = parent[key];
      delete parent[key];
      return v;
    };
    switch (op.op) {
      case 'add':
        add(op.value);
        break;
      case 'remove':
        remove();
        break;
      case 'replace': {
        if (tokens.length === 0) {
          doc = structuredClone(op.value);
          break;
        }
        const { parent, key } = resolveParent(doc, tokens, op.op, path);
        if (Array.isArray(parent)) {
          const idx = Number(key);
          if (!(idx >= 0 && idx < parent.length)) throw missing(op.op, path);
          parent[idx] = structuredClone(op.value);
        } else if (isObject(parent) && key in parent) parent[key] = structuredClone(op.value);
        else throw missing(op.op, path);
        break;
      }
      case 'move': {
        const fromTokens = parsePointer(op.from);
        const saved = tokens;
        const v = (() => {
          const { parent, key } = resolveParent(doc, fromTokens, op.op, op.from);
          if (Array.isArray(parent)) return parent.splice(Number(key), 1)[0];
          if (!isObject(parent) || !(key in parent)) throw missing(op.op, op.from);
          const val = parent[key];
          delete parent[key];
          return val;
        })();
        void saved;
        add(v);
        break;
      }
      case 'copy': {
        const v = getAt(doc, op.from);
        if (v === undefined) throw missing(op.op, op.from);
        add(v);
        break;
      }
      case 'test': {
        const v = getAt(doc, path);
        if (JSON.stringify(v) !== JSON.stringify(op.value)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${path} failed`);
        }
        break;
      }
      default:
        throw badRequest(`unexpected json patch operation: ${String(op.op)}`);
    }
  }
  return doc;
}

/** Merge keys of list fields in core kinds (by field name; good enough for kubectl apply/patch/edit). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  taints: 'key',
  addresses: 'type',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  resourceClaims: 'name',
};

/** Primitive lists merged as sets rather than replaced. */
const MERGE_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: any[]): string | undefined {
  if (field === 'ports') {
    const sample = items.find(isObject);
    if (sample && 'containerPort' in sample) return 'containerPort';
    return 'port';
  }
  return MERGE_KEYS[field];
}

/** Kubernetes strategic merge patch, for built-in kinds. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  return smpObject(isObject(target) ? target : {}, patch);
}

function smpObject(target: Record<string, any>, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = structuredClone(target);
  const retainKeys: string[] | undefined = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: unknown) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = smpList(k, Array.isArray(out[k]) ? out[k] : [], v);
      continue;
    }
    if (isObject(v)) {
      const merged = smpObject(isObject(out[k]) ? out[k] : {}, v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
      continue;
    }
    out[k] = v;
  }
  if (retainKeys) for (const k of Object.keys(out)) if (!retainKeys.includes(k) && !(k in patch)) delete out[k];
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, val] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(val);
  return out;
}

function smpList(field: string, target: any[], patch: any[]): any[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map(stripDirectives);
  }
  if (MERGE_PRIMITIVE_LISTS.has(field)) {
    const out = [...target];
    for (const p of patch) if (!out.includes(p)) out.push(p);
    return out;
  }
  const key = mergeKeyFor(field, [...patch, ...target]);
  if (!key || !patch.every(isObject)) return patch.map(stripDirectives);
  const out = structuredClone(target);
  for (const p of patch) {
    const idx = out.findIndex((t: any) => isObject(t) && t[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpObject(out[idx], p);
    else out.push(stripDirectives(p));
  }
  return out;
}

/**
 * Server-side apply, simplified: fields this manager applied last time and no longer applies are
 * removed, then the applied configuration is merged (strategic for built-ins). No managedFields,
 * no conflicts between managers; lists are leaves unless they have a merge key.
 */
export function applyPatch(target: Json, applied: Json, strategic: boolean, previouslyApplied?: Json): Json {
  const withoutNulls = stripNulls(applied);
  let base = target;
  if (isObject(previouslyApplied) && isObject(target)) {
    base = structuredClone(target);
    removeDropped(base, previouslyApplied, withoutNulls);
  }
  return strategic ? strategicMergePatch(base, withoutNulls) : mergePatch(base, withoutNulls);
}

/** Deletes from target the keys present in prev but absent from next (recursively through maps). */
function removeDropped(target: Record<string, any>, prev: Record<string, any>, next: unknown): void {
  const nextObj = isObject(next) ? next : {};
  for (const [k, pv] of Object.entries(prev)) {
    if (!(k in nextObj)) {
      delete target[k];
      continue;
    }
    if (isObject(pv) && isObject(nextObj[k]) && isObject(target[k])) removeDropped(target[k], pv, nextObj[k]);
  }
}

function stripNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isObject(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, val] of Object.entries(v)) if (val !== null) out[k] = stripNulls(val);
  return out;
}

import type { Logger } from 'pino';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound, unsupportedMediaType } from './errors.js';
import type { StatusCause } from './errors.js';
import { apiVersionOf, storageKey, type ResourceInfo, type ResourceRegistry } from './resource-registry.js';
import type { KubeObject, ObjectStore } from './storage/store.js';
import { isObject, jsonEqual, newUid, nowTimestamp, randomSuffix, specPart, validName } from './storage/object-meta.js';
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from './storage/patch.js';
import type { CustomResourceValidator, FieldValidation } from './crd/cr-validation.js';
import { prepareBuiltinCreate, validateBuiltin } from './builtin-defaults.js';
import { prepareCrd } from './crd/crd-status.js';
import * as yaml from 'js-yaml';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  fieldManager?: string;
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  created?: boolean;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Namespaces present from the start, like a fresh cluster. */
export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * The API semantics on top of the store: metadata management, optimistic concurrency,
 * status subresource separation, generation, finalizers, graceful pod deletion, validation.
 */
export class ResourceService {
  /** Called after a CRD is written or removed, so its resources start or stop being served. */
  onCrdChange: (crd: KubeObject, deleted: boolean) => void = () => {};

  /** uid → fieldManager → the configuration it applied last (server-side apply). */
  private readonly applied = new Map<string, Map<string, unknown>>();

  constructor(
    readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    private readonly validator: () => CustomResourceValidator,
    private readonly clock: () => Date = () => new Date(),
    private readonly logger?: Logger,
  ) {}

  // ---- reads ---------------------------------------------------------------------------

  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(storageKey(info.group, info.plural), info.namespaced ? namespace : undefined, name);
    if (!obj) throw notFound(info.group, info.plural, name);
    return this.present(info, obj);
  }

  tryGet(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.store.get(storageKey(info.group, info.plural), info.namespaced ? namespace : undefined, name);
    return obj ? this.present(info, obj) : undefined;
  }

  list(info: ResourceInfo, namespace: string | undefined): KubeObject[] {
    return this.store.list(storageKey(info.group, info.plural), info.namespaced ? namespace : undefined).map((o) => this.present(info, o));
  }

  /** Sets apiVersion/kind for the version the client asked for (versions share storage, no conversion). */
  present(info: ResourceInfo, obj: KubeObject): KubeObject {
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    return obj;
  }

  // ---- create --------------------------------------------------------------------------

  async create(info: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    const obj: KubeObject = structuredClone(body);
    this.checkKind(info, obj);
    const meta: Record<string, any> = isObject(obj.metadata) ? obj.metadata : {};
    obj.metadata = meta;
    if (info.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      const ns = namespace ?? meta.namespace;
      if (!ns) throw badRequest('a namespace is required for namespaced resources');
      meta.namespace = ns;
      this.requireNamespace(ns);
    } else {
      delete meta.namespace;
    }
    if (!meta.name) {
      if (!meta.generateName) {
        throw invalid(info.group, info.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
      }
      meta.name = `${meta.generateName}${randomSuffix()}`;
    }
    if (info.kind !== 'Event' && !validName(meta.name)) {
      throw invalid(info.group, info.kind, meta.name, [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
          field: 'metadata.name',
        },
      ]);
    }
    const key = storageKey(info.group, info.plural);
    if (this.store.get(key, meta.namespace, meta.name)) throw alreadyExists(info.group, info.plural, meta.name);

    meta.uid = newUid();
    meta.creationTimestamp = nowTimestamp(this.clock);
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.selfLink;
    if (this.tracksGeneration(info)) meta.generation = 1;
    else delete meta.generation;
    if (info.crdName && info.statusSubresource) delete obj.status;

    prepareBuiltinCreate(info, obj);
    const warnings: string[] = [];
    let toStore = obj;
    if (info.crdName) toStore = this.validateCustom(info, obj, undefined, opts, warnings);
    else this.throwIfInvalid(info, meta.name, validateBuiltin(info, obj, undefined));
    if (info.kind === 'CustomResourceDefinition' && info.group === 'apiextensions.k8s.io') prepareCrd(toStore, this.clock);

    toStore.apiVersion = apiVersionOf(this.storageInfo(info));
    toStore.kind = info.kind;
    if (opts.dryRun) return { object: this.present(info, { ...toStore, metadata: { ...toStore.metadata, resourceVersion: String(this.store.currentRv()) } }), warnings, created: true };
    const stored = this.store.create(key, toStore);
    if (info.kind === 'CustomResourceDefinition' && info.group === 'apiextensions.k8s.io') this.onCrdChange(stored, false);
    this.logger?.debug({ resource: key, name: meta.name, namespace: meta.namespace }, 'created');
    return { object: this.present(info, stored), warnings, created: true };
  }

  // ---- update --------------------------------------------------------------------------

  /**
   * Replaces an object. `subresource` 'status' changes only status; the main endpoint keeps the
   * stored status for resources with a status subresource.
   */
  async update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
    subresource?: string,
  ): Promise<WriteResult> {
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    const incoming: KubeObject = structuredClone(body);
    this.checkKind(info, incoming);
    if (!isObject(incoming.metadata)) incoming.metadata = {};
    if (incoming.metadata.name && incoming.metadata.name !== name) {
      throw badRequest(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (info.namespaced && incoming.metadata.namespace && namespace && incoming.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const key = storageKey(info.group, info.plural);
    const ns = info.namespaced ? namespace : undefined;
    const existing = this.store.get(key, ns, name);
    if (!existing) throw notFound(info.group, info.plural, name);
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== existing.metadata.resourceVersion) throw conflict(info.group, info.plural, name);
    return this.writeUpdate(info, existing, incoming, opts, subresource);
  }

  private async writeUpdate(
    info: ResourceInfo,
    existing: KubeObject,
    incoming: KubeObject,
    opts: WriteOptions,
    subresource?: string,
  ): Promise<WriteResult> {
    const key = storageKey(info.group, info.plural);
    const name = existing.metadata.name;
    let next: KubeObject;
    if (subresource === 'status') {
      next = structuredClone(existing);
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
      // Built-in kinds' status strategies (pods, nodes) reset only the spec: labels and
      // annotations sent to /status are kept, as the real tier showed. A CRD's /status
      // ignores everything but status.
      if (!info.crdName) {
        for (const f of ['labels', 'annotations'] as const) {
          if (incoming.metadata?.[f] === undefined) delete next.metadata[f];
          else next.metadata[f] = structuredClone(incoming.metadata[f]);
        }
      }
    } else {
      next = incoming;
      if (info.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
      // System-managed metadata cannot be changed through the API.
      const m = next.metadata;
      m.name = existing.metadata.name;
      if (info.namespaced) m.namespace = existing.metadata.namespace;
      else delete m.namespace;
      m.uid = existing.metadata.uid;
      m.creationTimestamp = existing.metadata.creationTimestamp;
      if (existing.metadata.deletionTimestamp) {
        m.deletionTimestamp = existing.metadata.deletionTimestamp;
        m.deletionGracePeriodSeconds = existing.metadata.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      delete m.managedFields;
      delete m.selfLink;
      if (existing.metadata.deletionTimestamp) {
        const added = (m.finalizers ?? []).filter((f: string) => !(existing.metadata.finalizers ?? []).includes(f));
        if (added.length > 0) {
          throw invalid(info.group, info.kind, name, [
            { reason: 'FieldValueForbidden', message: 'Forbidden: no new finalizers can be added if the object is being deleted', field: 'metadata.finalizers' },
          ]);
        }
      }
    }
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (this.tracksGeneration(info)) {
      const gen = existing.metadata.generation ?? 1;
      next.metadata.generation = jsonEqual(specPart(next, !!info.crdName), specPart(existing, !!info.crdName)) ? gen : gen + 1;
    } else delete next.metadata.generation;

    const warnings: string[] = [];
    if (info.crdName) next = this.validateCustom(info, next, existing, opts, warnings);
    else this.throwIfInvalid(info, name, validateBuiltin(info, next, existing));
    if (info.kind === 'CustomResourceDefinition' && info.group === 'apiextensions.k8s.io') prepareCrd(next, this.clock);
    next.apiVersion = apiVersionOf(this.storageInfo(info));
    next.kind = info.kind;

    if (this.readyToRemove(info, next)) {
      if (opts.dryRun) return { object: this.present(info, next), warnings };
      const final = this.store.remove(key, next.metadata.namespace, name)!;
      this.afterRemove(info, final);
      return { object: this.present(info, { ...next, metadata: { ...next.metadata, resourceVersion: final.metadata.resourceVersion } }), warnings };
    }
    // A no-op write keeps the resourceVersion and sends no watch event, like the real server.
    if (jsonEqual(next, existing)) return { object: this.present(info, existing), warnings };
    if (opts.dryRun) return { object: this.present(info, next), warnings };
    const stored = this.store.update(key, next, existing.metadata.resourceVersion);
    if (info.kind === 'CustomResourceDefinition' && info.group === 'apiextensions.k8s.io') this.onCrdChange(stored, false);
    return { object: this.present(info, stored), warnings };
  }

  // ---- patch ---------------------------------------------------------------------------

  async patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    opts: WriteOptions = {},
    subresource?: string,
  ): Promise<WriteResult> {
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    const key = storageKey(info.group, info.plural);
    const ns = info.namespaced ? namespace : undefined;
    const existing = this.store.get(key, ns, name);
    let patchBody: any;
    try {
      patchBody = type === PATCH_TYPES.apply ? yaml.load(rawBody) : JSON.parse(rawBody);
    } catch (err) {
      throw new ApiError(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (type === PATCH_TYPES.apply) {
      if (!opts.fieldManager) throw badRequest('fieldManager must be set for apply patches (PATCH with application/apply-patch+yaml)');
      if (!isObject(patchBody)) throw badRequest('apply patch must be an object');
      if (!existing) {
        if (subresource) throw notFound(info.group, info.plural, name);
        const body = structuredClone(patchBody);
        body.metadata = { ...(body.metadata ?? {}), name };
        const created = await this.create(info, namespace, body, opts);
        if (!opts.dryRun) this.rememberApplied(created.object.metadata.uid, opts.fieldManager, patchBody);
        return created;
      }
    }
    if (!existing) throw notFound(info.group, info.plural, name);
    const current = this.present(info, structuredClone(existing));
    let patched: any;
    switch (type) {
      case PATCH_TYPES.merge:
        patched = mergePatch(current, patchBody);
        break;
      case PATCH_TYPES.json:
        patched = jsonPatch(current, patchBody);
        break;
      case PATCH_TYPES.strategic:
        if (info.crdName) throw unsupportedMediaType(type);
        patched = strategicMergePatch(current, patchBody);
        break;
      case PATCH_TYPES.apply:
        patched = applyPatch(current, patchBody, !info.crdName, this.applied.get(existing.metadata.uid)?.get(opts.fieldManager!));
        break;
      default:
        throw unsupportedMediaType(type);
    }
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    if (!isObject(patched.metadata)) patched.metadata = {};
    const rv = patched.metadata.resourceVersion;
    if (rv !== undefined && rv !== null && rv !== '' && rv !== existing.metadata.resourceVersion) throw conflict(info.group, info.plural, name);
    patched.metadata.resourceVersion = existing.metadata.resourceVersion;
    const result = await this.writeUpdate(info, existing, patched, opts, subresource);
    if (type === PATCH_TYPES.apply && !opts.dryRun) this.rememberApplied(existing.metadata.uid, opts.fieldManager!, patchBody);
    return result;
  }

  // ---- delete --------------------------------------------------------------------------

  /** Deletes, or marks for deletion when finalizers or pod graceful termination are pending. */
  async delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; removed: boolean }> {
    const key = storageKey(info.group, info.plural);
    const ns = info.namespaced ? namespace : undefined;
    const existing = this.store.get(key, ns, name);
    if (!existing) throw notFound(info.group, info.plural, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`, { name, group: info.group, kind: info.plural });
    }
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`, { name, group: info.group, kind: info.plural });
    }
    const next = structuredClone(existing);
    const now = nowTimestamp(this.clock);
    const isPod = info.group === '' && info.plural === 'pods';
    const isNamespace = info.group === '' && info.plural === 'namespaces';
    let grace = 0;
    if (isPod && existing.spec?.nodeName) {
      grace = opts.gracePeriodSeconds ?? existing.spec?.terminationGracePeriodSeconds ?? 30;
      // Pods that never started or already finished need no grace period.
      if (existing.status?.phase === 'Succeeded' || existing.status?.phase === 'Failed') grace = opts.gracePeriodSeconds ?? 0;
    }
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(existing.metadata.uid);
    const finalizers: string[] = existing.metadata.finalizers ?? [];
    if (isNamespace) {
      if (!next.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = now;
        next.metadata.deletionGracePeriodSeconds = 0;
        next.status = { ...(next.status ?? {}), phase: 'Terminating' };
        if (opts.dryRun) return { object: this.present(info, next), removed: false };
        const stored = this.store.update(key, next);
        return { object: this.present(info, stored), removed: false };
      }
      return { object: this.present(info, existing), removed: false };
    }
    if (finalizers.length > 0 || grace > 0) {
      if (existing.metadata.deletionTimestamp) {
        // A second delete may only shorten the grace period.
        const cur = existing.metadata.deletionGracePeriodSeconds ?? 0;
        if (grace >= cur) return { object: this.present(info, existing), removed: false };
      }
      next.metadata.deletionTimestamp = existing.metadata.deletionTimestamp ?? now;
      next.metadata.deletionGracePeriodSeconds = grace;
      if (grace === 0 && finalizers.length === 0) {
        return this.removeNow(info, existing, opts);
      }
      if (opts.dryRun) return { object: this.present(info, next), removed: false };
      const stored = this.store.update(key, next);
      return { object: this.present(info, stored), removed: false };
    }
    return this.removeNow(info, existing, opts);
  }

  private removeNow(info: ResourceInfo, existing: KubeObject, opts: DeleteOptions): { object: KubeObject; removed: boolean } {
    if (opts.dryRun) return { object: this.present(info, existing), removed: true };
    const final = this.store.remove(storageKey(info.group, info.plural), existing.metadata.namespace, existing.metadata.name)!;
    this.afterRemove(info, final);
    return { object: this.present(info, final), removed: true };
  }

  private rememberApplied(uid: string, manager: string | undefined, config: unknown): void {
    if (!manager) return;
    let byManager = this.applied.get(uid);
    if (!byManager) this.applied.set(uid, (byManager = new Map()));
    byManager.set(manager, structuredClone(config));
  }

  private afterRemove(info: ResourceInfo, final: KubeObject): void {
    this.applied.delete(final.metadata.uid);
    if (info.kind === 'CustomResourceDefinition' && info.group === 'apiextensions.k8s.io') this.onCrdChange(final, true);
  }

  /** An object marked for deletion whose finalizers are all gone (and, for pods, whose grace period is over). */
  private readyToRemove(info: ResourceInfo, obj: KubeObject): boolean {
    if (!obj.metadata.deletionTimestamp) return false;
    if ((obj.metadata.finalizers ?? []).length > 0) return false;
    if (info.group === '' && info.plural === 'namespaces') return false;
    if (info.group === '' && info.plural === 'pods') return (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0;
    return true;
  }

  /** Removes ownerReferences to uid from every object (propagationPolicy=Orphan). */
  private orphanDependents(uid: string): void {
    for (const key of this.store.keys()) {
      for (const obj of this.store.list(key)) {
        const refs: any[] = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        obj.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (obj.metadata.ownerReferences.length === 0) delete obj.metadata.ownerReferences;
        this.store.update(key, obj);
      }
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  /** Pods: scheduler binding sets spec.nodeName once. */
  bind(namespace: string, name: string, body: unknown): KubeObject {
    const info = this.registry.get('', 'v1', 'pods')!;
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw notFound('', 'pods', name);
    const target = isObject(body) && isObject(body.target) ? body.target : undefined;
    if (!target?.name) throw invalid('', 'Binding', name, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }]);
    if (pod.spec?.nodeName) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${pod.spec.nodeName}"`, { name, kind: 'pods/binding' });
    if (pod.metadata.deletionTimestamp) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`, { name, kind: 'pods/binding' });
    pod.spec = { ...(pod.spec ?? {}), nodeName: target.name };
    const conditions: any[] = (pod.status?.conditions ?? []).filter((c: any) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowTimestamp(this.clock) });
    pod.status = { ...(pod.status ?? {}), conditions };
    return this.present(info, this.store.update('pods', pod));
  }

  requireNamespace(ns: string): void {
    const nsObj = this.store.get('namespaces', undefined, ns);
    if (!nsObj) throw notFound('', 'namespaces', ns);
    if (nsObj.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' });
    }
  }

  /** Creates the namespaces a fresh cluster has. */
  bootstrap(): void {
    const info = this.registry.get('', 'v1', 'namespaces')!;
    for (const name of INITIAL_NAMESPACES) {
      const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: newUid(), creationTimestamp: nowTimestamp(this.clock) } };
      prepareBuiltinCreate(info, obj);
      this.store.create('namespaces', obj);
    }
  }

  private storageInfo(info: ResourceInfo): ResourceInfo {
    return this.registry.byPlural(info.group, info.plural) ?? info;
  }

  private tracksGeneration(info: ResourceInfo): boolean {
    return !!info.crdName || (info.group === 'apiextensions.k8s.io' && info.plural === 'customresourcedefinitions') || (info.group === '' && info.plural === 'pods');
  }

  private checkKind(info: ResourceInfo, obj: KubeObject): void {
    if (obj.kind && obj.kind !== info.kind) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(info)}) or kind ${obj.kind} is not ${info.kind}`);
    }
  }

  private throwIfInvalid(info: ResourceInfo, name: string, causes: StatusCause[]): void {
    if (causes.length > 0) throw invalid(info.group, info.kind, name, causes);
  }

  /** Synchronous on purpose: nothing may interleave between reading the stored object and writing it. */
  private validateCustom(info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, opts: WriteOptions, warnings: string[]): KubeObject {
    const mode: FieldValidation = opts.fieldValidation ?? 'Warn';
    const result = this.validator().check(info.schema, obj, old);
    if (result.unknownFields.length > 0) {
      if (mode === 'Strict') {
        const list = result.unknownFields.map((f) => `unknown field "${f}"`).join(', ');
        throw new ApiError(400, 'BadRequest', `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${list}`);
      }
      if (mode === 'Warn') for (const f of result.unknownFields) warnings.push(`unknown field "${f}"`);
    }
    if (result.causes.length > 0) {
      const name = obj.metadata?.name ?? '';
      const message = result.message?.replace(/^[^ ]* /, `${info.kind}.${info.group} `);
      throw invalid(info.group, info.kind, name, result.causes, message);
    }
    return result.object;
  }
}

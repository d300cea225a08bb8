import {
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type CustomObjectsApi,
} from '@kubernetes/client-node';

/**
 * client-node 2.x sends patches as application/json-patch+json unless told otherwise, so a merge
 * patch body silently fails (or is misread). Every patch in visionq goes through these helpers.
 */
export function patchOptions(strategy: PatchStrategy, opts?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions('Content-Type', strategy, opts);
}

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

/** Any object-param client method: `core.patchNamespacedPod`, `custom.patchNamespacedCustomObject`... */
export type PatchCall<P, R> = (param: P, options?: ConfigurationOptions) => Promise<R>;

/** `mergePatch((p, o) => core.patchNamespacedPod(p, o), { name, namespace, body })` */
export function mergePatch<P, R>(call: PatchCall<P, R>, param: P): Promise<R> {
  return call(param, patchOptions(PatchStrategy.MergePatch));
}

/** `jsonPatch((p, o) => core.patchNamespacedPod(p, o), { name, namespace, body: ops })` */
export function jsonPatch<P, R>(call: PatchCall<P, R>, param: P): Promise<R> {
  return call(param, patchOptions(PatchStrategy.JsonPatch));
}

export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export function mergePatchCustomObject<T = unknown>(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  body: object,
): Promise<T> {
  return mergePatch((p, o) => custom.patchNamespacedCustomObject(p, o), { ...ref, body }) as Promise<T>;
}

/** Status goes only through the /status subresource. */
export function mergePatchCustomObjectStatus<T = unknown>(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  body: object,
): Promise<T> {
  return mergePatch((p, o) => custom.patchNamespacedCustomObjectStatus(p, o), { ...ref, body }) as Promise<T>;
}

export function jsonPatchCustomObject<T = unknown>(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  ops: JsonPatchOp[],
): Promise<T> {
  return jsonPatch((p, o) => custom.patchNamespacedCustomObject(p, o), { ...ref, body: ops }) as Promise<T>;
}

export function jsonPatchCustomObjectStatus<T = unknown>(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  ops: JsonPatchOp[],
): Promise<T> {
  return jsonPatch((p, o) => custom.patchNamespacedCustomObjectStatus(p, o), { ...ref, body: ops }) as Promise<T>;
}

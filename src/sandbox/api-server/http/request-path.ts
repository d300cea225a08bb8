import type { ResourceRegistry } from '../resource-registry.js';

/** A request for a resource: /api/v1/... or /apis/GROUP/VERSION/... */
export interface ResourcePath {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The legacy /watch/ path prefix. */
  watchPath: boolean;
}

/** Parses a resource URL path; undefined when it is not one (discovery, openapi, unknown). */
export function parseResourcePath(pathname: string, registry: ResourceRegistry): ResourcePath | undefined {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const candidate = registry.get(group, version, rest[2]!);
    if (candidate?.namespaced) {
      return { group, version, namespace: rest[1], plural: rest[2]!, name: rest[3], subresource: rest[4], watchPath };
    }
  }
  if (rest.length === 0) return undefined;
  return { group, version, plural: rest[0]!, name: rest[1], subresource: rest[2], watchPath };
}

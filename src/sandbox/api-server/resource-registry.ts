/** What the server knows about one served resource (a group/version/plural). */
export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a `/status` subresource: the main endpoint ignores status, `/status` changes only status. */
  statusSubresource: boolean;
  /** Other subresources served (e.g. pods: log, binding). */
  extraSubresources: string[];
  /** Custom resources: the owning CRD name; their generation counts any change outside metadata/status. */
  crdName?: string;
  /** Printer columns from the CRD (additionalPrinterColumns), when present. */
  printerColumns?: PrinterColumn[];
  /** The openAPIV3Schema of the CRD version, when present. */
  schema?: Record<string, unknown>;
  /** Verbs when not the full set (bindings: create only). */
  verbs?: string[];
  /** Whether this version is the storage version (CRD) or the preferred one. */
  storage?: boolean;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The storage key of a resource: versions of one group/plural share storage. */
export function storageKey(group: string, plural: string): string {
  return group ? `${group}/${plural}` : plural;
}

export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Served resources, looked up by group/version/plural and by group/kind. */
export class ResourceRegistry {
  private readonly byGvr = new Map<string, ResourceInfo>();
  private readonly listeners = new Set<() => void>();

  add(info: ResourceInfo): void {
    this.byGvr.set(`${info.group}/${info.version}/${info.plural}`, info);
    this.changed();
  }

  /** Removes every version of group/plural (a deleted CRD). */
  removeAll(group: string, plural: string): void {
    for (const [k, v] of this.byGvr) if (v.group === group && v.plural === plural) this.byGvr.delete(k);
    this.changed();
  }

  /** Replaces the served versions of a CRD in one step. */
  replaceCrd(group: string, plural: string, infos: ResourceInfo[]): void {
    for (const [k, v] of this.byGvr) if (v.group === group && v.plural === plural) this.byGvr.delete(k);
    for (const info of infos) this.byGvr.set(`${info.group}/${info.version}/${info.plural}`, info);
    this.changed();
  }

  get(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byGvr.get(`${group}/${version}/${plural}`);
  }

  /** Any served version of group/kind, preferring the storage version. */
  byKind(group: string, kind: string): ResourceInfo | undefined {
    let found: ResourceInfo | undefined;
    for (const v of this.byGvr.values()) {
      if (v.group === group && v.kind === kind) {
        if (v.storage) return v;
        found ??= v;
      }
    }
    return found;
  }

  /** Any served version of group/plural, preferring the storage version. */
  byPlural(group: string, plural: string): ResourceInfo | undefined {
    let found: ResourceInfo | undefined;
    for (const v of this.byGvr.values()) {
      if (v.group === group && v.plural === plural) {
        if (v.storage) return v;
        found ??= v;
      }
    }
    return found;
  }

  all(): ResourceInfo[] {
    return [...this.byGvr.values()];
  }

  /** Group → versions in preference order. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const v of this.byGvr.values()) {
      const list = out.get(v.group) ?? [];
      if (!list.includes(v.version)) {
        if (v.storage) list.unshift(v.version);
        else list.push(v.version);
      }
      out.set(v.group, list);
    }
    return out;
  }

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

import type { ResourceInfo, ResourceRegistry } from '../resource-registry.js';
import { ALL_VERBS } from '../resource-registry.js';

const LOOPBACK = [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }];

export function versionInfo(minor: number): Record<string, string> {
  return {
    major: '1',
    minor: String(minor),
    gitVersion: `v1.${minor}.0`,
    gitCommit: 'visionq-sandbox',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: LOOPBACK };
}

export function groupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [];
  for (const [name, versions] of registry.groups()) {
    if (name === '') continue;
    groups.push(groupEntry(name, versions));
  }
  groups.sort((a, b) => a.name.localeCompare(b.name));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

function groupEntry(name: string, versions: string[]): { name: string; versions: unknown[]; preferredVersion: unknown } {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function group(registry: ResourceRegistry, name: string): Record<string, unknown> | undefined {
  const versions = registry.groups().get(name);
  if (!versions) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(name, versions) };
}

function verbsFor(info: ResourceInfo): string[] {
  return info.verbs ?? ALL_VERBS;
}

/** The APIResourceList of one group/version, including subresources. */
export function resourceList(registry: ResourceRegistry, groupName: string, version: string): Record<string, unknown> | undefined {
  const infos = registry.all().filter((r) => r.group === groupName && r.version === version);
  if (infos.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const r of infos.sort((a, b) => a.plural.localeCompare(b.plural))) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsFor(r),
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${r.group}/${r.plural}`).toString('base64').slice(0, 11),
    });
    if (r.statusSubresource) resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
    if (r.extraSubresources.includes('log')) resources.push({ name: `${r.plural}/log`, singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
    if (r.extraSubresources.includes('binding')) resources.push({ name: `${r.plural}/binding`, singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupName ? `${groupName}/${version}` : version, resources };
}

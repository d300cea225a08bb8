import type { PrinterColumn, ResourceInfo } from '../resource-registry.js';
import type { KubeObject } from '../storage/store.js';
import { evalJsonPath } from './jsonpath.js';

interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

interface TableRow {
  cells: unknown[];
  object: KubeObject;
}

/** kubectl's age format: 5s, 3m2s, 4h, 2d3h... */
export function humanAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const secs = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (secs < 120) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  if (mins < 10) return `${mins}m${secs % 60 ? `${secs % 60}s` : ''}`;
  if (mins < 180) return `${mins}m`;
  const hours = Math.floor(mins / 60);
  if (hours < 8) return `${hours}h${mins % 60 ? `${mins % 60}m` : ''}`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return `${days}d${hours % 24 ? `${hours % 24}h` : ''}`;
  return `${days}d`;
}

const col = (name: string, type = 'string', priority = 0, description = '', format = ''): ColumnDefinition => ({ name, type, format, description, priority });

function podRow(pod: KubeObject): unknown[] {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const total = (pod.spec?.containers ?? []).length;
  const ready = statuses.filter((s) => s.ready).length;
  const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  for (const s of statuses) {
    if (s.state?.waiting?.reason) reason = s.state.waiting.reason;
    else if (s.state?.terminated?.reason && pod.status?.phase !== 'Running') reason = s.state.terminated.reason;
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return [`${ready}/${total}`, reason, restarts, pod.spec?.nodeName ?? '<none>', pod.status?.podIP ?? '<none>'];
}

function nodeRow(node: KubeObject): unknown[] {
  const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  let status = ready?.status === 'True' ? 'Ready' : 'NotReady';
  if (node.spec?.unschedulable) status += ',SchedulingDisabled';
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length));
  return [status, roles.length ? roles.join(',') : '<none>', node.status?.nodeInfo?.kubeletVersion ?? ''];
}

function formatCell(value: unknown, type: string): unknown {
  if (value === undefined || value === null) return type === 'integer' || type === 'number' ? null : '';
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** Builds a meta.k8s.io/v1 Table for objects, as `kubectl get` requests. */
export function buildTable(info: ResourceInfo, objects: KubeObject[], now: Date, listMeta: Record<string, unknown> = {}): KubeObject {
  const isCore = info.group === '';
  let columns: ColumnDefinition[];
  let cells: (o: KubeObject) => unknown[];
  const name = col('Name', 'string', 0, 'Name must be unique within a namespace.', 'name');
  const age = (o: KubeObject): string => humanAge(o.metadata.creationTimestamp, now);
  if (isCore && info.plural === 'pods') {
    columns = [name, col('Ready'), col('Status'), col('Restarts', 'string'), col('Age'), col('IP', 'string', 1), col('Node', 'string', 1)];
    cells = (o) => {
      const [ready, status, restarts, node, ip] = podRow(o);
      return [o.metadata.name, ready, status, String(restarts), age(o), ip, node];
    };
  } else if (isCore && info.plural === 'nodes') {
    columns = [name, col('Status'), col('Roles'), col('Age'), col('Version')];
    cells = (o) => {
      const [status, roles, version] = nodeRow(o);
      return [o.metadata.name, status, roles, age(o), version];
    };
  } else if (isCore && info.plural === 'namespaces') {
    columns = [name, col('Status'), col('Age')];
    cells = (o) => [o.metadata.name, o.status?.phase ?? '', age(o)];
  } else if (isCore && info.plural === 'events') {
    columns = [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')];
    cells = (o) => [
      humanAge(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now),
      o.type ?? '',
      o.reason ?? '',
      `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
      o.message ?? '',
    ];
  } else if (isCore && info.plural === 'configmaps') {
    columns = [name, col('Data', 'integer'), col('Age')];
    cells = (o) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o)];
  } else if (isCore && info.plural === 'secrets') {
    columns = [name, col('Type'), col('Data', 'integer'), col('Age')];
    cells = (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o)];
  } else if (info.group === 'coordination.k8s.io' && info.plural === 'leases') {
    columns = [name, col('Holder'), col('Age')];
    cells = (o) => [o.metadata.name, o.spec?.holderIdentity ?? '', age(o)];
  } else if (info.group === 'apiextensions.k8s.io') {
    columns = [name, col('Created At', 'date')];
    cells = (o) => [o.metadata.name, o.metadata.creationTimestamp];
  } else if (info.printerColumns && info.printerColumns.length > 0) {
    const pcs: PrinterColumn[] = info.printerColumns;
    const hasAge = pcs.some((p) => p.jsonPath === '.metadata.creationTimestamp');
    columns = [name, ...pcs.map((p) => col(p.name, p.type, p.priority ?? 0, p.description ?? '', p.format ?? '')), ...(hasAge ? [] : [col('Age', 'date')])];
    cells = (o) => [
      o.metadata.name,
      ...pcs.map((p) => {
        const v = evalJsonPath(o, p.jsonPath);
        if (p.type === 'date' && typeof v === 'string') return humanAge(v, now);
        return formatCell(v, p.type);
      }),
      ...(hasAge ? [] : [age(o)]),
    ];
  } else {
    columns = [name, col('Age', 'date')];
    cells = (o) => [o.metadata.name, age(o)];
  }
  const rows: TableRow[] = objects.map((o) => ({
    cells: cells(o),
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
  }));
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: columns, rows };
}

/** Whether an Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

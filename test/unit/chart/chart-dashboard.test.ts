/**
 * The chart's optional dashboard (dashboard.enabled): schema-valid objects, a restricted pod
 * whose args the `visionq dashboard` CLI accepts, a Service and selectors that never cross with
 * the controller's, and an account that can only read (plus delete visionjobs with allowCancel).
 */
import { parseArgs } from 'node:util';
import type { V1ClusterRole, V1Deployment, V1RoleBinding, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_OPTIONS } from '../../../src/dashboard/dashboard-command.js';
import { HelmSandbox, type K8sObject } from './helm.js';
import { KubeSchemaValidator } from './k8s-schemas.js';
import { restrictedViolations } from './pod-security.js';
import { find, labelsMatch, one, rbacWildcards } from './chart-manifests.js';

let helm: HelmSandbox;
let schemas: KubeSchemaValidator;

beforeAll(() => {
  helm = HelmSandbox.create();
  schemas = new KubeSchemaValidator();
});
afterAll(() => helm?.cleanup());

const dashboardObjects = (objs: K8sObject[]) => objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'dashboard');
const deployments = (objs: K8sObject[]) => find(objs, 'Deployment') as unknown as V1Deployment[];
const READ = ['get', 'list', 'watch'];

describe('chart: dashboard', () => {
  it('is off by default', async () => {
    const objs = await helm.render();
    expect(dashboardObjects(objs)).toEqual([]);
    expect(deployments(objs)).toHaveLength(1);
  });

  it('all namespaces, read-only: a ClusterRoleBinding to a role that only reads', async () => {
    const objs = await helm.render({ set: { 'dashboard.enabled': true } });
    const mine = dashboardObjects(objs);
    expect(mine.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service', 'ServiceAccount']);
    for (const o of mine) expect.soft(schemas.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    expect(rbacWildcards(objs)).toEqual([]);

    const role = one<V1ClusterRole>(mine, 'ClusterRole');
    expect(role.rules).toEqual([
      { apiGroups: ['visionq.dev'], resources: ['visionjobs', 'workerpools'], verbs: READ },
      { apiGroups: [''], resources: ['pods', 'events'], verbs: READ },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ]);
    const crb = one<V1RoleBinding>(mine, 'ClusterRoleBinding');
    const sa = one<K8sObject>(mine, 'ServiceAccount');
    expect(crb.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata!.name });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'visionq' }]);

    const dep = one<V1Deployment>(mine, 'Deployment');
    const pod = dep.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(restrictedViolations(pod)).toEqual([]);
    const c = pod.containers[0]!;
    const [cmd, ...flags] = c.args!;
    expect(cmd).toBe('dashboard');
    const { values } = parseArgs({ args: flags, options: DASHBOARD_OPTIONS, strict: true });
    expect(values).toMatchObject({ 'all-namespaces': true, address: '0.0.0.0', port: '8090', 'allow-cancel': false });
    expect(values.namespace).toBeUndefined();
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8090, protocol: 'TCP' }]);
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });

    // The Service selects the dashboard only, and the controller's selector misses the dashboard.
    const svc = one<V1Service>(mine, 'Service');
    const controller = deployments(objs).find((d) => d !== dep)!;
    expect(labelsMatch(svc.spec!.selector, dep.spec!.template.metadata!.labels)).toBe(true);
    expect(labelsMatch(svc.spec!.selector, controller.spec!.template.metadata!.labels)).toBe(false);
    expect(labelsMatch(controller.spec!.selector.matchLabels, dep.spec!.template.metadata!.labels)).toBe(false);
    for (const s of find(objs, 'Service') as unknown as V1Service[]) {
      if (s !== svc) expect(labelsMatch(s.spec!.selector, dep.spec!.template.metadata!.labels), s.metadata!.name).toBe(false);
    }
    expect(svc.spec!.ports).toEqual([{ name: 'http', port: 8090, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('one namespace with allowCancel: a RoleBinding there, --allow-cancel and delete on visionjobs only', async () => {
    const objs = await helm.render({ set: { 'dashboard.enabled': true, 'dashboard.allowCancel': true, 'dashboard.namespace': 'team-a', 'dashboard.port': 9000 } });
    const mine = dashboardObjects(objs);
    for (const o of mine) expect.soft(schemas.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    expect(find(mine, 'ClusterRoleBinding')).toEqual([]);
    const rb = one<V1RoleBinding & K8sObject>(mine, 'RoleBinding');
    expect(rb.metadata.namespace).toBe('team-a');
    const role = one<V1ClusterRole>(mine, 'ClusterRole');
    const deletes = role.rules!.filter((r) => r.verbs.includes('delete'));
    expect(deletes).toEqual([{ apiGroups: ['visionq.dev'], resources: ['visionjobs'], verbs: ['delete'] }]);
    const c = one<V1Deployment>(mine, 'Deployment').spec!.template.spec!.containers[0]!;
    const { values } = parseArgs({ args: c.args!.slice(1), options: DASHBOARD_OPTIONS, strict: true });
    expect(values).toMatchObject({ namespace: 'team-a', 'allow-cancel': true, port: '9000', 'all-namespaces': false });
    expect(c.ports?.[0]?.containerPort).toBe(9000);
  });

  it.each([
    ['a port given as a string', { 'dashboard.port': '8090' }, /port/],
    ['a misspelt key', { 'dashboard.allowcancel': true }, /allowcancel/],
    ['an invalid namespace name', { 'dashboard.namespace': 'Team_A' }, /namespace/],
  ])('rejects %s', async (_name, set, message) => {
    const r = await helm.template({ set: { 'dashboard.enabled': true, ...set } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

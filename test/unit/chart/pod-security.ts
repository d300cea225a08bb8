/**
 * The Kubernetes Pod Security Standards "restricted" profile (v1.25+ policy
 * version "latest"), as the PodSecurity admission plugin checks a pod spec:
 * the baseline controls plus the restricted ones. Returns the violations.
 */
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

export function restrictedViolations(spec: V1PodSpec): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers: [string, V1Container][] = [
    ...(spec.initContainers ?? []).map((c): [string, V1Container] => [`initContainer ${c.name}`, c]),
    ...spec.containers.map((c): [string, V1Container] => [`container ${c.name}`, c]),
    ...(spec.ephemeralContainers ?? []).map((c): [string, V1Container] => [`ephemeralContainer ${c.name}`, c as V1Container]),
  ];

  // baseline
  if (spec.hostNetwork) v.push('hostNetwork');
  if (spec.hostPID) v.push('hostPID');
  if (spec.hostIPC) v.push('hostIPC');
  for (const vol of spec.volumes ?? []) {
    if (vol.hostPath) v.push(`hostPath volume ${vol.name}`);
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) v.push(`volume ${vol.name} of type ${String(type)}`);
  }
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`unsafe sysctl ${s.name}`);
  if (pod.seLinuxOptions && !SELINUX_TYPES.has(pod.seLinuxOptions.type ?? '')) v.push('pod seLinuxOptions.type');
  if (pod.seLinuxOptions?.user || pod.seLinuxOptions?.role) v.push('pod seLinuxOptions user/role');
  if (pod.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(pod.appArmorProfile.type)) v.push('pod appArmorProfile');

  // restricted, pod level
  const podNonRoot = pod.runAsNonRoot === true;
  if (pod.runAsNonRoot === false) v.push('pod runAsNonRoot=false');
  if (pod.runAsUser === 0) v.push('pod runAsUser=0');
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && !['RuntimeDefault', 'Localhost'].includes(podSeccomp)) v.push(`pod seccompProfile ${podSeccomp}`);

  for (const [what, c] of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`${what}: privileged`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${what}: hostPort ${p.hostPort}`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${what}: procMount ${sc.procMount}`);
    if (sc.seLinuxOptions && !SELINUX_TYPES.has(sc.seLinuxOptions.type ?? '')) v.push(`${what}: seLinuxOptions.type`);
    if (sc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type)) v.push(`${what}: appArmorProfile`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${what}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot === true || (podNonRoot && sc.runAsNonRoot !== false))) v.push(`${what}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) v.push(`${what}: runAsUser=0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!seccomp || !['RuntimeDefault', 'Localhost'].includes(seccomp)) v.push(`${what}: seccompProfile must be RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${what}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${what}: adds capability ${cap}`);
  }
  return v;
}

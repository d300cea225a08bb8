import { describe, expect, it } from 'vitest';
import {
  buildWorkerPod,
  workerPodName,
  workerTemplateHash,
  WorkerTemplateError,
  type WorkerPodSettings,
} from '../../../../src/controller/workerpod/worker-pod-builder.js';
import type { WorkerPoolView } from '../../../../src/controller/workerpool/workerpool-view.js';
import { makePool } from '../../../helpers/builders.js';

function pool(overrides: Partial<WorkerPoolView['spec']> = {}): WorkerPoolView {
  return makePool('gpu')
    .namespace('vision')
    .uid('uid-1')
    .bareMetadata()
    .max(4)
    .slots(2)
    .ackWait(45)
    .permanentExitCodes(3, 4)
    .template({
      metadata: { labels: { app: 'vision' }, annotations: { team: 'cv' } },
      spec: {
        containers: [
          { name: 'algo', image: 'algo:1', command: ['python', 'run.py'], args: ['--fast'], env: [{ name: 'A', value: '1' }] },
          { name: 'sidecar', image: 'side:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    })
    .spec(overrides)
    .obj();
}

// agentCommand has a default in the controller settings: the image must win over it.
const cluster: WorkerPodSettings = { natsUrlForWorkers: 'nats://nats:4222', agentImage: 'visionq:1', agentCommand: ['/opt/visionq-agent/visionq', 'agent'] };
const sandbox: WorkerPodSettings = { natsUrlForWorkers: 'nats://127.0.0.1:4222', agentCommand: ['/usr/bin/node', '/repo/dist/cli/main.js', 'agent'] };

describe('buildWorkerPod', () => {
  it('is owned by the pool, labelled, marked not safe to evict, never restarted', () => {
    const pod = buildWorkerPod(pool(), cluster, 'gpu-abcde');
    expect(pod.metadata?.name).toBe('gpu-abcde');
    expect(pod.metadata?.namespace).toBe('vision');
    expect(pod.metadata?.ownerReferences).toEqual([
      { apiVersion: 'visionq.dev/v1alpha1', kind: 'WorkerPool', name: 'gpu', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
    ]);
    expect(pod.metadata?.labels).toMatchObject({ app: 'vision', 'visionq.dev/pool': 'gpu', 'visionq.dev/worker': 'true' });
    expect(pod.metadata?.labels?.['visionq.dev/template-hash']).toMatch(/^[0-9a-f]{10}$/);
    expect(pod.metadata?.annotations).toEqual({ team: 'cv', 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' });
    expect(pod.spec?.restartPolicy).toBe('Never');
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.terminationGracePeriodSeconds).toBe(30);
  });

  it('in a cluster, copies the agent with an init container and wraps the first container', () => {
    const pod = buildWorkerPod(pool(), cluster, 'gpu-abcde');
    const init = pod.spec?.initContainers ?? [];
    expect(init).toHaveLength(1);
    expect(init[0]).toMatchObject({ name: 'visionq-agent-install', image: 'visionq:1', command: ['cp', '-R', '/opt/visionq-agent/.', '/visionq/'] });
    expect(pod.spec?.volumes).toEqual([{ name: 'data', emptyDir: {} }, { name: 'visionq-agent', emptyDir: {} }]);
    const c = pod.spec!.containers[0];
    expect(c.command).toEqual([
      '/visionq/visionq-agent',
      '--nats-url', 'nats://nats:4222',
      '--namespace', 'vision',
      '--pool', 'gpu',
      '--pod', '$(POD_NAME)',
      '--node', '$(NODE_NAME)',
      '--slots', '2',
      '--ack-wait-seconds', '45',
      '--permanent-exit-codes', '3,4',
      '--grace-seconds', '23',
      '--', 'python', 'run.py', '--fast',
    ]);
    expect(c.args).toBeUndefined();
    expect(c.volumeMounts).toEqual([{ name: 'visionq-agent', mountPath: '/visionq', readOnly: true }]);
    expect(c.env?.slice(0, 3).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
      ['NODE_NAME', 'spec.nodeName'],
    ]);
    expect(c.env?.[3]).toEqual({ name: 'A', value: '1' });
    expect(pod.spec!.containers[1]).toEqual({ name: 'sidecar', image: 'side:1' });
  });

  it('in the sandbox, runs the local agent command with the same flags and no init container', () => {
    const pod = buildWorkerPod(pool({ permanentExitCodes: [] }), sandbox, 'gpu-x');
    expect(pod.spec?.initContainers).toBeUndefined();
    expect(pod.spec?.volumes).toEqual([{ name: 'data', emptyDir: {} }]);
    const cmd = pod.spec!.containers[0].command!;
    expect(cmd.slice(0, 3)).toEqual(['/usr/bin/node', '/repo/dist/cli/main.js', 'agent']);
    expect(cmd).not.toContain('--permanent-exit-codes');
    expect(cmd.slice(cmd.indexOf('--', 3))).toEqual(['--', 'python', 'run.py', '--fast']);
  });

  it('mounts NATS credentials when a secret is configured', () => {
    const pod = buildWorkerPod(pool(), { ...cluster, workerNatsCredsSecret: 'nats-creds' }, 'gpu-x');
    const cmd = pod.spec!.containers[0].command!;
    expect(cmd[cmd.indexOf('--nats-creds') + 1]).toBe('/var/run/visionq/nats/nats.creds');
    expect(pod.spec?.volumes).toContainEqual({ name: 'visionq-nats-creds', secret: { secretName: 'nats-creds' } });
  });

  it("gives the agent its pool's static NATS user, the password from the secret as env", () => {
    const pod = buildWorkerPod(pool(), { ...cluster, workerNatsUserSecret: 'nats-users' }, 'gpu-x');
    const c = pod.spec!.containers[0];
    expect(c.env).toContainEqual({ name: 'VISIONQ_NATS_USER', value: 'visionq-worker.vision.gpu' });
    expect(c.env).toContainEqual({ name: 'VISIONQ_NATS_PASSWORD', valueFrom: { secretKeyRef: { name: 'nats-users', key: 'gpu' } } });
    expect(c.command!.join(' ')).not.toContain('PASSWORD');
    expect(buildWorkerPod(pool(), cluster, 'gpu-x').spec!.containers[0].env!.some((e) => e.name.startsWith('VISIONQ_NATS_'))).toBe(false);
  });

  it('mounts the TLS Secret read-only into the agent container and passes its files', () => {
    const pod = buildWorkerPod(pool(), { ...cluster, workerNatsTls: { secretName: 'nats-tls', ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } }, 'gpu-x');
    const c = pod.spec!.containers[0];
    const cmd = c.command!;
    const flags = cmd.slice(0, cmd.indexOf('--'));
    expect(flags[flags.indexOf('--nats-tls-ca') + 1]).toBe('/etc/visionq/nats-tls/ca.crt');
    expect(flags[flags.indexOf('--nats-tls-cert') + 1]).toBe('/etc/visionq/nats-tls/tls.crt');
    expect(flags[flags.indexOf('--nats-tls-key') + 1]).toBe('/etc/visionq/nats-tls/tls.key');
    expect(c.volumeMounts).toContainEqual({ name: 'visionq-nats-tls', mountPath: '/etc/visionq/nats-tls', readOnly: true });
    expect(pod.spec?.volumes).toContainEqual({
      name: 'visionq-nats-tls',
      secret: { secretName: 'nats-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] },
    });
    // Only the agent's container: a sidecar gets neither the mount nor the flags.
    expect(pod.spec!.containers[1].volumeMounts).toBeUndefined();
    // The algorithm's own command is untouched after the separator.
    expect(cmd.slice(cmd.indexOf('--'))).toEqual(['--', 'python', 'run.py', '--fast']);
  });

  it('with a CA only (server verification), projects and passes only the CA', () => {
    const pod = buildWorkerPod(pool(), { ...sandbox, workerNatsTls: { secretName: 'nats-tls', ca: 'my-ca.pem' } }, 'gpu-x');
    const cmd = pod.spec!.containers[0].command!;
    expect(cmd.filter((a) => a.startsWith('--nats-tls'))).toEqual(['--nats-tls-ca']);
    expect(cmd[cmd.indexOf('--nats-tls-ca') + 1]).toBe('/etc/visionq/nats-tls/my-ca.pem');
    expect(pod.spec?.volumes).toContainEqual({ name: 'visionq-nats-tls', secret: { secretName: 'nats-tls', items: [{ key: 'my-ca.pem', path: 'my-ca.pem' }] } });
    // A certificate without its key is not half-passed.
    const half = buildWorkerPod(pool(), { ...sandbox, workerNatsTls: { secretName: 'nats-tls', ca: 'ca.crt', cert: 'tls.crt' } }, 'gpu-x');
    expect(half.spec!.containers[0].command!.filter((a) => a.startsWith('--nats-tls'))).toEqual(['--nats-tls-ca']);
  });

  it('adds nothing for TLS when unset or naming no file, and the template hash stays the same', () => {
    const none = buildWorkerPod(pool(), cluster, 'gpu-x');
    const empty = buildWorkerPod(pool(), { ...cluster, workerNatsTls: { secretName: 'nats-tls' } }, 'gpu-x');
    for (const pod of [none, empty]) {
      expect(pod.spec!.containers[0].command!.some((a) => a.startsWith('--nats-tls'))).toBe(false);
      expect(pod.spec!.volumes!.map((v) => v.name)).not.toContain('visionq-nats-tls');
      expect(pod.spec!.containers[0].volumeMounts!.map((m) => m.name)).not.toContain('visionq-nats-tls');
    }
    expect(workerTemplateHash(pool(), { ...cluster, workerNatsTls: { secretName: 'nats-tls' } })).toBe(workerTemplateHash(pool(), cluster));
    // Turning TLS on changes the hash, so existing workers roll onto the TLS connection.
    expect(workerTemplateHash(pool(), { ...cluster, workerNatsTls: { secretName: 'nats-tls', ca: 'ca.crt' } })).not.toBe(workerTemplateHash(pool(), cluster));
  });

  it('keeps the template grace period and drops a pinned nodeName', () => {
    const p = pool();
    p.spec.template.spec!.terminationGracePeriodSeconds = 120;
    p.spec.template.spec!.nodeName = 'gpu-node-1';
    const pod = buildWorkerPod(p, cluster, 'gpu-x');
    expect(pod.spec?.terminationGracePeriodSeconds).toBe(120);
    const cmd = pod.spec!.containers[0].command!;
    expect(cmd[cmd.indexOf('--grace-seconds') + 1]).toBe('113');
    expect(pod.spec?.nodeName).toBeUndefined();
  });

  it('does not modify the pool', () => {
    const p = pool();
    const before = JSON.stringify(p);
    buildWorkerPod(p, cluster, 'gpu-x');
    expect(JSON.stringify(p)).toBe(before);
  });

  it('rejects a template without a command or without containers', () => {
    const p = pool();
    delete p.spec.template.spec!.containers[0].command;
    expect(() => buildWorkerPod(p, cluster, 'x')).toThrow(WorkerTemplateError);
    const q = pool();
    q.spec.template.spec!.containers = [];
    expect(() => buildWorkerPod(q, cluster, 'x')).toThrow(/at least one container/);
    expect(() => buildWorkerPod(pool(), { natsUrlForWorkers: 'n' }, 'x')).toThrow(/agentCommand nor agentImage/);
  });
});

describe('workerTemplateHash', () => {
  it('equals the pod label, ignores scaling fields and key order, changes with the template', () => {
    const h = workerTemplateHash(pool(), cluster);
    expect(buildWorkerPod(pool(), cluster, 'a').metadata?.labels?.['visionq.dev/template-hash']).toBe(h);
    expect(workerTemplateHash(pool({ maxReplicas: 9, minReplicas: 2, scaleDownDelaySeconds: 5 }), cluster)).toBe(h);
    const reordered = pool();
    reordered.spec.template = { spec: reordered.spec.template.spec, metadata: reordered.spec.template.metadata };
    expect(workerTemplateHash(reordered, cluster)).toBe(h);
    const changed = pool();
    changed.spec.template.spec!.containers[0].image = 'algo:2';
    expect(workerTemplateHash(changed, cluster)).not.toBe(h);
    expect(workerTemplateHash(pool({ slotsPerWorker: 3 }), cluster)).not.toBe(h);
    expect(workerTemplateHash(pool(), { ...cluster, agentImage: 'visionq:2' })).not.toBe(h);
  });
});

describe('workerPodName', () => {
  it('is the pool name plus a 5-character suffix, at most 63 characters', () => {
    expect(workerPodName('gpu', () => 0)).toBe('gpu-bbbbb');
    expect(workerPodName('p'.repeat(80)).length).toBe(63);
    expect(workerPodName('gpu')).toMatch(/^gpu-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});

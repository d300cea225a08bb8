/** Manifests shared by the WorkerPool end-to-end tests (no controller imports: usable by all). */
export const GROUP = 'visionq.dev';
export const VERSION = 'v1alpha1';
export const NS = 'default';

/** A sandbox pool running examples/algorithms/sample-vision.mjs; one GPU per worker. */
export function poolManifest(name: string, spec: Record<string, unknown> = {}, fps = 4): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WorkerPool',
    metadata: { name, namespace: NS },
    spec: {
      minReplicas: 0,
      maxReplicas: 4,
      slotsPerWorker: 1,
      ackWaitSeconds: 10,
      scaleDownDelaySeconds: 1,
      permanentExitCodes: [3],
      jobDefaults: { timeoutSeconds: 120, retries: 2, backoff: { initialSeconds: 1, maxSeconds: 2, factor: 2 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'algorithm',
              image: 'visionq/sample-vision:dev',
              command: [process.execPath, 'examples/algorithms/sample-vision.mjs'],
              args: ['--fps', String(fps)],
              resources: { requests: { cpu: '100m', memory: '64Mi', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
            },
          ],
        },
      },
      ...spec,
    },
  };
}


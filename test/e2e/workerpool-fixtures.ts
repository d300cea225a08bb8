/** Manifests shared by the WorkerPool end-to-end tests (no controller imports: usable by all). */
export const GROUP = 'visionq.dev';
export const VERSION = 'v1alpha1';
export const NS = 'default';

/** A sandbox pool running examples/algorithms/sample-vision.mjs; one GPU per worker. */
export function samplePool(name: string, spec: Record<string, unknown> = {}, fps = 4): Record<string, unknown> {
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


/** Small seeded PRNG (mulberry32): the randomized run and its benchmark repeat exactly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ArrivalStep = { kind: 'job'; name: string; durationSeconds: number } | { kind: 'pause'; ms: number };

/** Bursts of jobs of mixed lengths separated by pauses (within a burst jobs arrive 0-200 ms apart). */
export function randomArrivals(
  random: () => number,
  o: { bursts: number; jobsPerBurst: [number, number]; durationSeconds: [number, number]; pauseMs: [number, number]; prefix?: string },
): ArrivalStep[] {
  const between = (lo: number, hi: number): number => lo + (hi - lo) * random();
  const steps: ArrivalStep[] = [];
  let n = 0;
  for (let b = 0; b < o.bursts; b++) {
    const count = Math.round(between(o.jobsPerBurst[0], o.jobsPerBurst[1]));
    for (let i = 0; i < count; i++) {
      steps.push({ kind: 'job', name: `${o.prefix ?? 'rnd'}-${n++}`, durationSeconds: Math.round(between(o.durationSeconds[0], o.durationSeconds[1]) * 10) / 10 });
      if (i < count - 1) steps.push({ kind: 'pause', ms: Math.round(between(0, 200)) });
    }
    if (b < o.bursts - 1) steps.push({ kind: 'pause', ms: Math.round(between(o.pauseMs[0], o.pauseMs[1])) });
  }
  return steps;
}

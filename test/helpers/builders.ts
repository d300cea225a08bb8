/**
 * Kueue-style builders of the objects tests work with (`makeJob('a').pool('p').priority(5).obj()`,
 * `makePool('p').max(3).slots(2).obj()`): every unit and e2e test builds VisionJobs and WorkerPools
 * here, typed as the controller's own objects, so a schema change breaks one file, not twenty.
 * obj() returns a fresh deep copy: a builder can be reused for several objects.
 */
import { API_GROUP, API_VERSION } from '../../src/api/constants.js';
import type { VisionJobObject, WorkerPoolObject } from '../../src/controller/manager/context-types.js';
import type { CurrentAttempt, JobPhase, VisionJobStatus } from '../../src/api/vision-job.js';
import type { WorkerPoolStatus } from '../../src/api/worker-pool.js';

export const GROUP = API_GROUP;
export const VERSION = API_VERSION;
/** Namespace of built objects unless .namespace() says otherwise. */
export const NS = 'default';

type JobSpec = VisionJobObject['spec'];
type PoolSpec = WorkerPoolObject['spec'];

/** Informers hand out raw JSON: metadata timestamps are strings at runtime, whatever V1ObjectMeta says. */
function jsonTime(t: string | number | Date): Date {
  return (typeof t === 'string' ? t : new Date(t).toISOString()) as unknown as Date;
}

export class JobBuilder {
  private readonly o: VisionJobObject;

  constructor(name: string) {
    this.o = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'VisionJob',
      metadata: { name, namespace: NS, uid: `uid-${name}` },
      spec: { pool: 'gpu' },
    };
  }

  namespace(ns: string): this {
    this.o.metadata.namespace = ns;
    return this;
  }

  uid(uid: string): this {
    this.o.metadata.uid = uid;
    return this;
  }

  generation(g: number): this {
    this.o.metadata.generation = g;
    return this;
  }

  /** creationTimestamp (admission order among equal priorities). */
  created(t: string | number | Date): this {
    this.o.metadata.creationTimestamp = jsonTime(t);
    return this;
  }

  deleting(t: string | number | Date = Date.now()): this {
    this.o.metadata.deletionTimestamp = jsonTime(t);
    return this;
  }

  finalizers(...f: string[]): this {
    this.o.metadata.finalizers = f;
    return this;
  }

  pool(pool: string): this {
    this.o.spec.pool = pool;
    return this;
  }

  priority(p: number | undefined): this {
    this.o.spec.priority = p;
    return this;
  }

  suspend(s = true): this {
    this.o.spec.suspend = s;
    return this;
  }

  /** spec.notBefore as RFC 3339 (a Date or epoch ms is converted). */
  notBefore(t: string | number | Date): this {
    this.o.spec.notBefore = typeof t === 'string' ? t : new Date(t).toISOString();
    return this;
  }

  /** The fair-share tenant label (visionq.dev/tenant). */
  tenant(t: string): this {
    this.o.metadata.labels = { ...(this.o.metadata.labels ?? {}), 'visionq.dev/tenant': t };
    return this;
  }

  /** Merged into the input set so far. */
  input(input: Record<string, unknown>): this {
    this.o.spec.input = { ...(this.o.spec.input ?? {}), ...input };
    return this;
  }

  /** Any other spec fields (shallow merge). */
  spec(spec: Partial<JobSpec> | Record<string, unknown>): this {
    Object.assign(this.o.spec, spec);
    return this;
  }

  phase(phase: JobPhase | undefined): this {
    return this.status({ phase });
  }

  /** Status fields (shallow merge). */
  status(status: Partial<VisionJobStatus>): this {
    this.o.status = { ...(this.o.status ?? {}), ...status };
    return this;
  }

  /** status.currentAttempt: the attempt running (or last run) on `pod`. */
  attempt(pod: string, fields: Partial<CurrentAttempt> = {}): this {
    return this.status({ currentAttempt: { pod, ...fields } });
  }

  obj(): VisionJobObject {
    return structuredClone(this.o);
  }
}

export class PoolBuilder {
  private readonly o: WorkerPoolObject;

  constructor(name: string) {
    this.o = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'WorkerPool',
      metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 },
      spec: { maxReplicas: 1, template: { spec: { containers: [{ name: 'algorithm', command: ['run'] }] } } },
    };
  }

  namespace(ns: string): this {
    this.o.metadata.namespace = ns;
    return this;
  }

  uid(uid: string): this {
    this.o.metadata.uid = uid;
    return this;
  }

  generation(g: number): this {
    this.o.metadata.generation = g;
    return this;
  }

  /** Metadata of the built pool as the API server would not send it (tests of bare objects). */
  bareMetadata(): this {
    delete this.o.apiVersion;
    delete this.o.kind;
    return this;
  }

  max(n: number): this {
    this.o.spec.maxReplicas = n;
    return this;
  }

  min(n: number): this {
    this.o.spec.minReplicas = n;
    return this;
  }

  slots(n: number): this {
    this.o.spec.slotsPerWorker = n;
    return this;
  }

  ackWait(seconds: number): this {
    this.o.spec.ackWaitSeconds = seconds;
    return this;
  }

  scaleDownDelay(seconds: number): this {
    this.o.spec.scaleDownDelaySeconds = seconds;
    return this;
  }

  permanentExitCodes(...codes: number[]): this {
    this.o.spec.permanentExitCodes = codes;
    return this;
  }

  jobDefaults(d: NonNullable<PoolSpec['jobDefaults']>): this {
    this.o.spec.jobDefaults = d;
    return this;
  }

  template(t: PoolSpec['template']): this {
    this.o.spec.template = t;
    return this;
  }

  /** Any other spec fields (shallow merge, like a merge patch of spec). */
  spec(spec: Partial<PoolSpec> | Record<string, unknown>): this {
    Object.assign(this.o.spec, spec);
    return this;
  }

  status(status: Partial<WorkerPoolStatus>): this {
    this.o.status = { ...(this.o.status ?? {}), ...status };
    return this;
  }

  obj(): WorkerPoolObject {
    return structuredClone(this.o);
  }
}

export const makeJob = (name: string): JobBuilder => new JobBuilder(name);
export const makePool = (name: string): PoolBuilder => new PoolBuilder(name);

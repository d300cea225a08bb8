/** Requests to the dashboard server beyond the event stream. */
export interface JobDetail {
  job: {
    metadata: { name: string; namespace: string; creationTimestamp?: string; labels?: Record<string, string> };
    spec: Record<string, unknown> & { pool?: string };
    status?: Record<string, unknown> & {
      phase?: string;
      conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }>;
      currentAttempt?: { attempt?: number; pod?: string; node?: string; startedAt?: string; ended?: string };
      queuedAt?: string;
      startTime?: string;
      completionTime?: string;
      result?: unknown;
      message?: string;
    };
  };
  events: Array<{ type?: string; reason?: string; message?: string; count: number; object: string; firstTimestamp?: string; lastTimestamp?: string }>;
  pod: { name?: string; phase?: string; node?: string } | null;
}

const q = (ns: string, name: string) => `namespace=${encodeURIComponent(ns)}&name=${encodeURIComponent(name)}`;

export async function fetchJob(ns: string, name: string): Promise<JobDetail | undefined> {
  const res = await fetch(`/api/job?${q(ns, name)}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`job: HTTP ${res.status}`);
  return (await res.json()) as JobDetail;
}

export async function fetchLog(ns: string, name: string): Promise<string> {
  const res = await fetch(`/api/log?${q(ns, name)}`);
  if (!res.ok) return `(no log: ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`})`;
  return res.text();
}

export async function cancelJob(ns: string, name: string): Promise<string | undefined> {
  const res = await fetch(`/api/job?${q(ns, name)}`, { method: 'DELETE' });
  if (res.ok) return undefined;
  return ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`;
}

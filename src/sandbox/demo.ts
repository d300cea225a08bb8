import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { SandboxEnvironment } from './sandbox.js';
import { packageRoot } from './package-root.js';

const GROUP = 'visionq.dev';
const VERSION = 'v1alpha1';
const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

interface DemoJob {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    attempts?: number;
    failures?: number;
    disruptions?: number;
    progress?: { percent?: number; message?: string };
    startTime?: string;
    completionTime?: string;
    message?: string;
    result?: unknown;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

async function loadManifests(path: string): Promise<Array<Record<string, any>>> {
  const files = path.endsWith('.yaml') ? [path] : (await readdir(path)).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(path, f));
  const docs: Array<Record<string, any>> = [];
  for (const f of files) for (const d of yaml.loadAll(await readFile(f, 'utf8'))) if (d) docs.push(d as Record<string, any>);
  return docs;
}

function plural(kind: string): string {
  return kind === 'WorkerPool' ? 'workerpools' : 'visionjobs';
}

/** One line describing where a job is; printed whenever it changes. */
function describeJob(j: DemoJob): string {
  const s = j.status ?? {};
  const pct = s.progress?.percent !== undefined ? `${Math.round(s.progress.percent)}%` : '';
  const why = s.phase === 'Pending' ? (s.conditions?.find((c) => c.status === 'False' || c.reason)?.message ?? '') : (s.progress?.message ?? s.message ?? '');
  return `${(s.phase ?? 'New').padEnd(9)} attempts=${s.attempts ?? 0} ${pct.padStart(4)} ${why}`.trimEnd();
}

/**
 * Applies the sandbox examples (a WorkerPool running the sample algorithm and a few
 * VisionJobs, one failing transiently, one permanently) and prints their progress
 * until every job has finished, then a summary. Returns 0 when each job ended as the
 * example intends (the permanent failure is expected to fail).
 */
export async function runDemo(env: SandboxEnvironment, out: NodeJS.WritableStream, timeoutMs = 10 * 60_000): Promise<number> {
  const api = env.kc.makeApiClient(CustomObjectsApi);
  const manifests = [...(await loadManifests(join(packageRoot, 'examples/sandbox/workerpool.yaml'))), ...(await loadManifests(join(packageRoot, 'examples/sandbox/jobs')))];
  // The real vision worker needs Debian's python3-opencv; without it the demo runs the rest.
  if (spawnSync('/usr/bin/python3', ['-c', 'import cv2'], { stdio: 'ignore' }).status === 0) {
    manifests.push(...(await loadManifests(join(packageRoot, 'examples/sandbox/opencv/workerpool.yaml'))), ...(await loadManifests(join(packageRoot, 'examples/sandbox/opencv/job.yaml'))));
  } else {
    out.write('note: /usr/bin/python3 cannot import cv2 (apt-get install python3-opencv opencv-data): skipping the OpenCV job\n');
  }
  const jobNames: string[] = [];
  // The example that feeds the algorithm an unsupported codec is meant to fail for good.
  const expectedFailures = new Set<string>();
  for (const m of manifests) {
    const namespace = m.metadata?.namespace ?? 'default';
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: plural(m.kind), body: m });
    out.write(`applied ${m.kind.toLowerCase()}/${m.metadata.name}\n`);
    if (m.kind === 'VisionJob') {
      jobNames.push(m.metadata.name);
      if (m.spec?.input?.failMode === 'permanent') expectedFailures.add(m.metadata.name);
    }
  }

  const started = Date.now();
  const lastLine = new Map<string, string>();
  let jobs: DemoJob[] = [];
  while (Date.now() - started < timeoutMs) {
    const list = (await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: 'visionjobs' })) as { items: DemoJob[] };
    jobs = list.items.filter((j) => jobNames.includes(j.metadata.name));
    for (const j of jobs) {
      const line = describeJob(j);
      if (lastLine.get(j.metadata.name) !== line) {
        lastLine.set(j.metadata.name, line);
        out.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] vj/${j.metadata.name.padEnd(22)} ${line}\n`);
      }
    }
    if (jobs.length === jobNames.length && jobs.every((j) => TERMINAL.has(j.status?.phase ?? ''))) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  out.write('\nsummary\n');
  out.write(`${'JOB'.padEnd(24)}${'PHASE'.padEnd(11)}${'ATTEMPTS'.padEnd(10)}${'FAILURES'.padEnd(10)}${'DURATION'.padEnd(10)}RESULT / MESSAGE\n`);
  let ok = true;
  for (const j of jobs) {
    const s = j.status ?? {};
    const secs = s.startTime && s.completionTime ? `${((Date.parse(s.completionTime) - Date.parse(s.startTime)) / 1000).toFixed(1)}s` : '-';
    const detail = s.phase === 'Succeeded' ? JSON.stringify(s.result ?? null).slice(0, 60) : (s.conditions?.find((c) => c.type === 'Failed')?.message ?? s.message ?? '');
    out.write(`${j.metadata.name.padEnd(24)}${(s.phase ?? '-').padEnd(11)}${String(s.attempts ?? 0).padEnd(10)}${String(s.failures ?? 0).padEnd(10)}${secs.padEnd(10)}${detail}\n`);
    const expectFailure = expectedFailures.has(j.metadata.name);
    if (!TERMINAL.has(s.phase ?? '') || (s.phase === 'Failed') !== expectFailure) ok = false;
  }
  if (jobs.length !== jobNames.length) ok = false;
  out.write(ok ? '\ndemo finished: every job ended as expected\n' : '\ndemo finished: some jobs did not end as expected\n');
  return ok ? 0 : 1;
}

/**
 * One job: conditions, an attempt timeline (from its status times and its events), events,
 * the result JSON and the log of its current pod. The detail is refetched when the server's
 * change stream names this job — never on a timer.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { formatDuration, summarizeJob } from '../view-model.js';
import { fetchJob, fetchLog, type JobDetail } from './api.js';
import { CancelButton, PhaseBadge, ProgressBar } from './job-list.js';
import { store } from './store.js';

interface TimelineEntry {
  at: number;
  what: string;
  detail: string;
  kind: string;
}

function timeline(d: JobDetail): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const s = d.job.status ?? {};
  const add = (t: string | undefined, what: string, detail = '', kind = 'status') => {
    const at = t ? Date.parse(t) : NaN;
    if (Number.isFinite(at)) out.push({ at, what, detail, kind });
  };
  add(d.job.metadata.creationTimestamp, 'Created');
  add(s.queuedAt, 'Queued');
  add(s.startTime, 'First attempt started');
  const ca = s.currentAttempt;
  if (ca) add(ca.startedAt, `Attempt ${ca.attempt ?? '?'} started`, `pod ${ca.pod}${ca.node ? ` on ${ca.node}` : ''}${ca.ended ? ` — ${ca.ended}` : ''}`);
  add(s.completionTime, `Finished: ${s.phase}`, s.message ?? '');
  for (const e of d.events) add(e.lastTimestamp ?? e.firstTimestamp, e.reason ?? '', `${e.object}: ${e.message ?? ''}${e.count > 1 ? ` (×${e.count})` : ''}`, e.type === 'Warning' ? 'warning' : 'event');
  return out.sort((a, b) => a.at - b.at);
}

const time = (t: number) => new Date(t).toLocaleTimeString();

export function JobPage({ namespace, name, allowCancel }: { namespace: string; name: string; allowCancel: boolean }) {
  const key = `${namespace}/${name}`;
  const detailVersion = store.detailVersions.get(key) ?? 0;
  const [detail, setDetail] = useState<JobDetail | null | undefined>(undefined);
  const [log, setLog] = useState('');
  useEffect(() => {
    let live = true;
    void fetchJob(namespace, name).then((d) => live && setDetail(d ?? null));
    void fetchLog(namespace, name).then((t) => live && setLog(t));
    return () => {
      live = false;
    };
  }, [key, detailVersion]);
  const back = html`<a href="#/" class="back">← all jobs</a>`;
  if (detail === undefined) return html`<section class="card">${back}<p class="muted">Loading…</p></section>`;
  if (detail === null) return html`<section class="card">${back}<p data-testid="gone">VisionJob ${key} does not exist (any more).</p></section>`;
  const row = summarizeJob(detail.job);
  const s = detail.job.status ?? {};
  return html`<section class="card job-page" data-job-page=${key} data-phase=${row.phase}>
    ${back}
    <h2>${name} <span class="ns">${namespace}</span> <${PhaseBadge} phase=${row.phase} /> ${allowCancel ? html`<${CancelButton} row=${row} />` : ''}</h2>
    <div class="facts">
      <div><label>pool</label>${row.pool}</div>
      <div><label>tenant</label>${row.tenant || '—'}</div>
      <div><label>attempts / failures / disruptions</label>${row.attempts} / ${row.failures} / ${row.disruptions}</div>
      <div><label>run time</label>${row.startedAt ? formatDuration((row.completedAt || Date.now()) - row.startedAt) : '—'}</div>
      <div><label>pod</label>${detail.pod ? `${detail.pod.name} (${detail.pod.phase ?? '?'}${detail.pod.node ? `, ${detail.pod.node}` : ''})` : '—'}</div>
      <div class="wide"><label>progress</label><${ProgressBar} percent=${row.percent} phase=${row.phase} /> ${row.progressMessage}</div>
      ${s.message ? html`<div class="wide"><label>message</label><span data-testid="message">${s.message}</span></div>` : ''}
    </div>
    <h3>Conditions</h3>
    <table class="conds"><thead><tr><th>type</th><th>status</th><th>reason</th><th>message</th><th>since</th></tr></thead>
      <tbody>${(s.conditions ?? []).map(
        (c) => html`<tr data-condition=${c.type}><td>${c.type}</td><td>${c.status}</td><td>${c.reason ?? ''}</td><td>${c.message ?? ''}</td>
          <td>${c.lastTransitionTime ? time(Date.parse(c.lastTransitionTime)) : ''}</td></tr>`,
      )}</tbody></table>
    <h3>Attempt timeline</h3>
    <ol class="timeline" data-testid="timeline">${timeline(detail).map(
      (t) => html`<li class=${t.kind}><time>${time(t.at)}</time><b>${t.what}</b> <span>${t.detail}</span></li>`,
    )}</ol>
    <h3>Events</h3>
    <table class="events"><thead><tr><th>last seen</th><th>type</th><th>reason</th><th>object</th><th>message</th></tr></thead>
      <tbody>${detail.events.map(
        (e) => html`<tr class=${e.type === 'Warning' ? 'warning' : ''}><td>${e.lastTimestamp ? time(Date.parse(e.lastTimestamp)) : ''}</td><td>${e.type}</td>
          <td>${e.reason}</td><td>${e.object}</td><td>${e.message}${e.count > 1 ? ` (×${e.count})` : ''}</td></tr>`,
      )}</tbody></table>
    <h3>Result</h3>
    <pre class="json" data-testid="result">${s.result === undefined ? '—' : JSON.stringify(s.result, null, 2)}</pre>
    <h3>Log of the current pod${detail.pod?.name ? ` (${detail.pod.name})` : ''}</h3>
    <pre class="log" data-testid="log">${log}</pre>
  </section>`;
}

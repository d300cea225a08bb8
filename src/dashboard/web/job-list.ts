/**
 * The job list, windowed: only the rows in view (plus a few either side) are in the DOM, so
 * thousands of jobs cost the same to render and to update as a screenful.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { formatDuration, visibleRange, type JobRow } from '../view-model.js';
import { cancelJob } from './api.js';

export const ROW_HEIGHT = 34;
const VIEW_HEIGHT = 560;

export function ProgressBar({ percent, phase }: { percent: number; phase: string }) {
  return html`<div class="bar" data-percent=${String(Math.round(percent))} title=${`${percent.toFixed(0)}%`}>
    <div class=${`fill ${phase}`} style=${`width:${percent}%`}></div><span>${Math.round(percent)}%</span>
  </div>`;
}

export function PhaseBadge({ phase }: { phase: string }) {
  return html`<span class=${`badge ${phase}`} data-testid="phase">${phase}</span>`;
}

export function CancelButton({ row }: { row: JobRow }) {
  const [error, setError] = useState('');
  if (row.completedAt > 0 || row.deleting) return null;
  return html`<button class="cancel" data-testid="cancel" title=${error || 'delete the VisionJob (cancels it)'}
    onClick=${async (e: Event) => {
      e.preventDefault();
      e.stopPropagation();
      if (!confirm(`Cancel ${row.namespace}/${row.name}?`)) return;
      setError((await cancelJob(row.namespace, row.name)) ?? '');
    }}>cancel</button>`;
}

function duration(r: JobRow, now: number): string {
  if (r.startedAt === 0) return '';
  return formatDuration((r.completedAt || now) - r.startedAt);
}

export function JobList({ rows, now, allowCancel }: { rows: JobRow[]; now: number; allowCancel: boolean }) {
  const [scrollTop, setScrollTop] = useState(0);
  // A short list takes only the room it needs; a long one scrolls inside a fixed window.
  const height = Math.min(VIEW_HEIGHT, Math.max(1, rows.length) * ROW_HEIGHT);
  const { start, end } = visibleRange(rows.length, ROW_HEIGHT, scrollTop, height);
  const shown = rows.slice(start, end);
  return html`<div class="jobs">
    <div class="jobs-head">
      <span>job</span><span>tenant</span><span>pool</span><span>phase</span><span>progress</span>
      <span title="attempts / failures / disruptions">att / fail / disr</span><span>age</span><span>duration</span><span>reason / message</span><span></span>
    </div>
    <div class="viewport" style=${`height:${height}px`} onScroll=${(e: Event) => setScrollTop((e.currentTarget as HTMLElement).scrollTop)} data-testid="job-viewport">
      <div style=${`height:${rows.length * ROW_HEIGHT}px;position:relative`}>
        ${shown.map(
          (r, i) => html`<a class="job-row" key=${r.key} href=${`#/job/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`}
            data-job=${r.key} data-phase=${r.phase} style=${`top:${(start + i) * ROW_HEIGHT}px;height:${ROW_HEIGHT}px`}>
            <span class="name" title=${r.key}>${r.name}</span>
            <span class="tenant">${r.tenant || html`<span class="muted">—</span>`}</span>
            <span>${r.pool}</span>
            <span><${PhaseBadge} phase=${r.phase} /></span>
            <span><${ProgressBar} percent=${r.percent} phase=${r.phase} /></span>
            <span class="num">${r.attempts} / ${r.failures} / ${r.disruptions}</span>
            <span class="num">${formatDuration(now - r.createdAt)}</span>
            <span class="num">${duration(r, now)}</span>
            <span class="reason" data-testid="reason" title=${r.message}>${r.reason ? html`<b>${r.reason}</b> ` : ''}${r.progressMessage && r.phase === 'Running' ? r.progressMessage : r.message}</span>
            <span>${allowCancel ? html`<${CancelButton} row=${r} />` : ''}</span>
          </a>`,
        )}
      </div>
    </div>
    ${rows.length === 0 ? html`<p class="muted empty">No jobs match.</p>` : ''}
  </div>`;
}

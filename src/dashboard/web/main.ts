/** Entry of the dashboard front end (bundled by esbuild into dist/dashboard-web/main.js). */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { html } from 'htm/preact';
import { render } from 'preact';
import { useLayoutEffect, useMemo, useState, useEffect } from 'preact/hooks';
import { countByPhase, filterJobs, JOB_PHASE_ORDER, type JobFilter } from '../view-model.js';
import { ChartsView } from './charts-view.js';
import { useNow, useStoreVersion } from './hooks.js';
import { JobList } from './job-list.js';
import { JobPage } from './job-page.js';
import { PoolsView } from './pools-view.js';
import { store } from './store.js';

function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function FilterBar({ filter, set, pools, counts, shown }: { filter: JobFilter; set: (f: JobFilter) => void; pools: string[]; counts: Record<string, number>; shown: number }) {
  return html`<div class="filters">
    <input type="search" placeholder="search name, tenant, reason…" value=${filter.text ?? ''} data-testid="search"
      onInput=${(e: Event) => set({ ...filter, text: (e.target as HTMLInputElement).value })} />
    <select data-testid="phase-filter" onChange=${(e: Event) => set({ ...filter, phase: (e.target as HTMLSelectElement).value || undefined })}>
      <option value="">all phases</option>
      ${JOB_PHASE_ORDER.map((p) => html`<option value=${p} selected=${filter.phase === p}>${p} (${counts[p] ?? 0})</option>`)}
    </select>
    <select data-testid="pool-filter" onChange=${(e: Event) => set({ ...filter, pool: (e.target as HTMLSelectElement).value || undefined })}>
      <option value="">all pools</option>
      ${pools.map((p) => html`<option value=${p} selected=${filter.pool === p}>${p}</option>`)}
    </select>
    <span class="muted" data-testid="shown">${shown} shown</span>
  </div>`;
}

function App() {
  const renderStart = performance.now();
  const version = useStoreVersion();
  const now = useNow();
  const route = useRoute();
  const [filter, setFilter] = useState<JobFilter>({});
  const all = useMemo(() => [...store.jobs.values()], [version]);
  const rows = useMemo(() => filterJobs(all, filter), [all, filter]);
  const counts = useMemo(() => countByPhase(all), [all]);
  const pools = useMemo(() => [...store.pools.values()].sort((a, b) => a.key.localeCompare(b.key)), [version]);
  const poolNames = useMemo(() => [...new Set(pools.map((p) => p.name))].sort(), [pools]);
  useLayoutEffect(() => store.rendered(renderStart), [version]);
  const m = /^#\/job\/([^/]+)\/([^/]+)$/.exec(route);
  return html`<header>
      <h1>visionq</h1>
      <span class="muted">namespace: ${store.namespace ?? 'all'}</span>
      <span class="phases">${JOB_PHASE_ORDER.map((p) => html`<span class=${`badge ${p}`}>${p} ${counts[p]}</span>`)}</span>
      <span class=${`conn ${store.connected ? 'on' : 'off'}`} data-testid="connection">${store.connected ? 'live' : 'reconnecting…'}</span>
      ${store.allowCancel ? html`<span class="badge warn">cancel enabled</span>` : html`<span class="muted">read-only</span>`}
    </header>
    <main>
      ${!store.loaded
        ? html`<p class="muted">Connecting…</p>`
        : m
          ? html`<${JobPage} namespace=${decodeURIComponent(m[1]!)} name=${decodeURIComponent(m[2]!)} allowCancel=${store.allowCancel} />`
          : html`<${PoolsView} pools=${pools} />
              <${ChartsView} rows=${all} version=${version} now=${now} />
              <section class="card"><h2>Jobs</h2>
                <${FilterBar} filter=${filter} set=${setFilter} pools=${poolNames} counts=${counts} shown=${rows.length} />
                <${JobList} rows=${rows} now=${now} allowCancel=${store.allowCancel} />
              </section>`}
    </main>`;
}

store.connect();
render(html`<${App} />`, document.getElementById('app')!);

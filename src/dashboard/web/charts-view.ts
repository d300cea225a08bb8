/**
 * Throughput and latency charts computed in the browser from the watched jobs (the same rows the
 * list shows), redrawn with uPlot's setData — no chart is rebuilt on an update.
 */
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { useThrottled } from './hooks.js';
import { formatDuration, minuteSeries, overallPercentiles, type JobRow } from '../view-model.js';

function useUPlot(opts: (width: number) => uPlot.Options, data: uPlot.AlignedData) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const node = el.current!;
    plot.current = new uPlot(opts(node.clientWidth || 400), data, node);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: node.clientWidth, height: 160 }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  return el;
}

const series = (label: string, stroke: string, dash?: number[]): uPlot.Series => ({ label, stroke, width: 2, dash, spanGaps: true });

export function ChartsView({ rows, version, now }: { rows: JobRow[]; version: number; now: number }) {
  // The minute of `now` only matters once a minute; versions change with every batch, the
  // charts follow at most once a second.
  const minute = Math.floor(now / 60_000);
  const chartVersion = useThrottled(version, 1000);
  const s = useMemo(() => minuteSeries(rows, now, 30), [chartVersion, minute]);
  const pct = useMemo(() => overallPercentiles(rows), [chartVersion]);
  const throughput = useUPlot(
    (width) => ({
      width,
      height: 160,
      series: [{}, series('started/min', '#3b82f6'), series('finished/min', '#10b981')],
      axes: [{}, { size: 40 }],
      legend: { live: false },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    }),
    [s.minutes, s.started, s.finished],
  );
  const latency = useUPlot(
    (width) => ({
      width,
      height: 160,
      series: [
        {},
        series('wait p50 s', '#f59e0b'),
        series('wait p95 s', '#f59e0b', [4, 4]),
        series('run p50 s', '#8b5cf6'),
        series('run p95 s', '#8b5cf6', [4, 4]),
      ],
      axes: [{}, { size: 40 }],
      legend: { live: false },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] } },
    }),
    [s.minutes, s.waitP50, s.waitP95, s.runP50, s.runP95] as uPlot.AlignedData,
  );
  const f = (v: number) => (Number.isNaN(v) ? '—' : formatDuration(v) || '0s');
  return html`<section class="card charts">
    <div class="chart"><h3>Jobs started / finished per minute</h3><div ref=${throughput}></div></div>
    <div class="chart"><h3>Queue wait and run time (per minute, seconds)</h3><div ref=${latency}></div></div>
    <table class="pct" data-testid="percentiles">
      <thead><tr><th></th><th>n</th><th>p50</th><th>p90</th><th>p99</th></tr></thead>
      <tbody>
        <tr><td>queue wait</td><td>${pct.wait.count}</td><td>${f(pct.wait.p50)}</td><td>${f(pct.wait.p90)}</td><td>${f(pct.wait.p99)}</td></tr>
        <tr><td>run time</td><td>${pct.run.count}</td><td>${f(pct.run.p50)}</td><td>${f(pct.run.p90)}</td><td>${f(pct.run.p99)}</td></tr>
      </tbody>
    </table>
  </section>`;
}

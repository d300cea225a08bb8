import { html } from 'htm/preact';
import type { PoolRow } from '../view-model.js';

export function PoolsView({ pools }: { pools: PoolRow[] }) {
  if (pools.length === 0) return html`<section class="card"><h2>Pools</h2><p class="muted">No WorkerPools.</p></section>`;
  return html`<section class="card">
    <h2>Pools</h2>
    <table class="pools">
      <thead><tr>
        <th>pool</th><th title="worker pods running a job">busy</th><th title="ready worker pods without a job">idle</th>
        <th title="worker pods waiting for a node">pending</th><th>queued</th><th>running</th>
        <th title="maxReplicas x slotsPerWorker">capacity</th><th>workers</th><th>capacity pending</th>
      </tr></thead>
      <tbody>
        ${pools.map(
          (p) => html`<tr data-pool=${p.key} key=${p.key}>
            <td class="name">${p.name}<span class="ns">${p.namespace}</span></td>
            <td data-field="busy">${p.busy}</td>
            <td data-field="idle">${p.idle}</td>
            <td data-field="pending">${p.pending}</td>
            <td data-field="queued">${p.queued}</td>
            <td data-field="running">${p.running}</td>
            <td data-field="capacity">${p.running}/${p.capacity}
              <div class="bar small"><div style=${`width:${p.capacity ? Math.min(100, (100 * p.running) / p.capacity) : 0}%`}></div></div></td>
            <td data-field="replicas">${p.replicas} <span class="muted">(${p.minReplicas}–${p.maxReplicas} × ${p.slotsPerWorker} slots)</span></td>
            <td data-field="capacityPending" title=${p.capacityPendingMessage}>
              ${p.capacityPendingReason ? html`<span class="badge warn">${p.capacityPendingReason}</span>` : html`<span class="muted">—</span>`}
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

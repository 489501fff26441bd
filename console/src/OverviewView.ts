import { html } from 'htm/preact';
import { api } from './api';
import { ms, usd } from './format';
import { usePoll } from './usePoll';

interface Hour {
  hourStart: number;
  requests: number;
  errors: number;
  costUsd: number;
}
interface Overview {
  requests: {
    requests: number;
    errors: number;
    errorClasses: Record<string, number>;
    latencyMs: { p50: number | null; p95: number | null };
    fallbacksByLevel: Record<string, number>;
    costUsd: number;
    hourly: Hour[];
  };
  spend_today_usd: number | null;
  targets: Record<string, number> | null;
  dlq_depth: number | null;
  pending_approvals: number | null;
}

/** Spend per hour over the last 24 h as bars, with a text table for screen readers. */
function SpendChart({ hours }: { hours: Hour[] }) {
  const width = 720;
  const height = 160;
  const max = Math.max(...hours.map((hour) => hour.costUsd), 0.000001);
  const step = width / hours.length;
  return html`<figure>
    <svg viewBox="0 0 ${width} ${height + 20}" width="100%" role="img" aria-labelledby="chart-title">
      <title id="chart-title">Spend per hour over the last 24 hours (this container)</title>
      ${hours.map((hour, i) => {
        const barHeight = (hour.costUsd / max) * height;
        return html`<rect x=${i * step + 2} y=${height - barHeight} width=${step - 4} height=${barHeight} fill="#0b57d0">
            <title>${new Date(hour.hourStart).toLocaleTimeString([], { hour: '2-digit' })}: ${usd(hour.costUsd)}, ${hour.requests} requests</title>
          </rect>
          ${i % 3 === 0 ? html`<text x=${i * step + 2} y=${height + 14}>${new Date(hour.hourStart).getHours()}h</text>` : null}`;
      })}
      <line x1="0" y1=${height} x2=${width} y2=${height} stroke="#8a8a8a" />
    </svg>
    <figcaption class="note">Highest hour: ${usd(max === 0.000001 ? 0 : max)}. Bars show cost per hour; hover a bar for its numbers.</figcaption>
  </figure>`;
}

export function OverviewView() {
  const { data, error } = usePoll(() => api<Overview>('GET', 'overview'));
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const { requests } = data;
  const card = (label: string, value: unknown) => html`<div class="card"><div class="value">${value}</div><div class="label">${label}</div></div>`;
  return html`<section aria-labelledby="overview-title">
    <h2 id="overview-title">Overview</h2>
    <div class="cards">
      ${card('requests, last hour', requests.requests)}
      ${card('errors, last hour', requests.errors)}
      ${card('p50 latency', ms(requests.latencyMs.p50))}
      ${card('p95 latency', ms(requests.latencyMs.p95))}
      ${card('spend today (fleet)', usd(data.spend_today_usd))}
      ${card('open breakers', (data.targets?.open ?? 0) + (data.targets?.half_open ?? 0))}
      ${card('DLQ depth', data.dlq_depth ?? '—')}
      ${card('pending approvals', data.pending_approvals ?? '—')}
    </div>
    <p class="note">Requests, errors, latency and the chart are this container's own (each gateway container keeps its last hour and day in memory); spend today is the fleet's, from the ledger.</p>
    <h2>Spend, last 24 hours</h2>
    <${SpendChart} hours=${requests.hourly} />
    <h2>Errors by class</h2>
    ${Object.keys(requests.errorClasses).length === 0
      ? html`<p class="muted">No errors in the last hour.</p>`
      : html`<table><thead><tr><th scope="col">Error</th><th scope="col">Count</th></tr></thead><tbody>
          ${Object.entries(requests.errorClasses).map(([name, count]) => html`<tr><td>${name}</td><td>${count}</td></tr>`)}
        </tbody></table>`}
    <h2>Served by fallback level</h2>
    ${Object.keys(requests.fallbacksByLevel).length === 0
      ? html`<p class="muted">No successful requests in the last hour.</p>`
      : html`<table><thead><tr><th scope="col">Level</th><th scope="col">Requests</th></tr></thead><tbody>
          ${Object.entries(requests.fallbacksByLevel).map(([level, count]) => html`<tr><td>${level === '0' ? '0 (primary)' : level}</td><td>${count}</td></tr>`)}
        </tbody></table>`}
  </section>`;
}

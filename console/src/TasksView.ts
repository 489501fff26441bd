import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api';
import { seconds } from './format';
import { usePoll } from './usePoll';

interface Task {
  id: string;
  tenant: string;
  status: string;
  priority: string;
  attempts: number;
  created_at: number;
  error: { code: string; message: string } | null;
  last_error: { code: string; message: string } | null;
}
interface Dlq {
  enabled: boolean;
  depth: number;
  queues: Array<{ name: string; visible: number; in_flight: number }>;
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead_lettered', 'cancelled'];

export function TasksView({ announce }: { announce: (message: string) => void }) {
  const [status, setStatus] = useState('');
  const tasks = usePoll(() => api<{ enabled: boolean; data: Task[] }>('GET', `tasks${status ? `?status=${status}` : ''}`), [status]);
  const dlq = usePoll(() => api<Dlq>('GET', 'dlq'));
  const redrive = async () => {
    try {
      const result = await api<{ data: Array<{ queue: string; mode: string; moved?: number }> }>('POST', 'dlq/redrive');
      announce(`Redrive: ${result.data.map((each) => `${each.queue}: ${each.mode === 'copy' ? `${each.moved} moved` : 'move task started'}`).join('; ')}`);
    } catch (error) {
      announce(`Could not redrive: ${(error as Error).message}`);
    }
    void dlq.reload();
    void tasks.reload();
  };
  return html`<section aria-labelledby="tasks-title">
    <h2 id="tasks-title">Dead-letter queue</h2>
    ${dlq.error ? html`<p class="error" role="alert">${dlq.error}</p>` : null}
    ${dlq.data && !dlq.data.enabled ? html`<p class="muted">This gateway has no task queues.</p>` : null}
    ${dlq.data?.enabled
      ? html`<p><strong data-dlq-depth=${dlq.data.depth}>${dlq.data.depth}</strong> message(s) in ${dlq.data.queues.map((queue) => queue.name).join(', ')}
          <button type="button" class="primary" onClick=${redrive} disabled=${dlq.data.depth === 0}>Redrive DLQ</button></p>`
      : null}
    <h2>Tasks</h2>
    <form class="inline" onSubmit=${(event: Event) => event.preventDefault()}>
      <label>Status <select value=${status} onChange=${(event: Event) => setStatus((event.target as HTMLSelectElement).value)}>
        <option value="">any</option>
        ${STATUSES.map((each) => html`<option value=${each}>${each}</option>`)}
      </select></label>
    </form>
    ${tasks.error ? html`<p class="error" role="alert">${tasks.error}</p>` : null}
    ${tasks.data && !tasks.data.enabled ? html`<p class="muted">This gateway has no task queues.</p>` : null}
    ${tasks.data?.enabled
      ? tasks.data.data.length === 0
        ? html`<p class="muted">No tasks${status ? ` with status ${status}` : ''}.</p>`
        : html`<table>
            <thead><tr><th scope="col">Task</th><th scope="col">Tenant</th><th scope="col">Status</th><th scope="col">Priority</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Error</th></tr></thead>
            <tbody>${tasks.data.data.map(
              (task) => html`<tr>
                <td><code>${task.id}</code></td><td>${task.tenant}</td>
                <td><span class=${`badge status-${task.status}`}>${task.status}</span></td>
                <td>${task.priority}</td><td>${task.attempts}</td><td>${seconds(task.created_at)}</td>
                <td>${(task.error ?? task.last_error) ? `${(task.error ?? task.last_error)!.code}: ${(task.error ?? task.last_error)!.message}` : '—'}</td>
              </tr>`,
            )}</tbody>
          </table>`
      : null}
  </section>`;
}

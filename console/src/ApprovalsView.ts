import { html } from 'htm/preact';
import { api } from './api';
import { seconds } from './format';
import { usePoll } from './usePoll';

interface Approval {
  id: string;
  status: string;
  service: string;
  method: string;
  path: string;
  rule: string;
  tenant: string;
  key_prefix: string;
  created_at: number;
  expires_at: number;
}

export function ApprovalsView({ announce }: { announce: (message: string) => void }) {
  const { data, error, reload } = usePoll(() => api<{ enabled: boolean; data: Approval[] }>('GET', 'approvals'));
  const decide = async (approval: Approval, decision: 'approve' | 'reject') => {
    try {
      await api('POST', `approvals/${encodeURIComponent(approval.id)}/${decision}`, {});
      announce(`${decision === 'approve' ? 'Approved' : 'Rejected'} ${approval.method} ${approval.service}${approval.path}.`);
    } catch (caught) {
      announce(`Could not ${decision}: ${(caught as Error).message}`);
    }
    void reload();
  };
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  return html`<section aria-labelledby="approvals-title">
    <h2 id="approvals-title">Held tool calls</h2>
    ${!data.enabled ? html`<p class="muted">This gateway has no approvals store.</p>` : null}
    ${data.enabled && data.data.length === 0 ? html`<p class="muted">Nothing waits for approval.</p>` : null}
    ${data.data.length > 0
      ? html`<table>
          <thead><tr><th scope="col">Call</th><th scope="col">Rule</th><th scope="col">Tenant / key</th><th scope="col">Held since</th><th scope="col">Expires</th><th scope="col">Decision</th></tr></thead>
          <tbody>${data.data.map(
            (approval) => html`<tr data-approval=${approval.id}>
              <td><code>${approval.method} ${approval.service}${approval.path}</code></td>
              <td>${approval.rule}</td>
              <td>${approval.tenant} / <code>${approval.key_prefix}</code></td>
              <td>${seconds(approval.created_at)}</td>
              <td>${seconds(approval.expires_at)}</td>
              <td><button type="button" class="primary" aria-label=${`Approve ${approval.method} ${approval.service}${approval.path}`} onClick=${() => decide(approval, 'approve')}>Approve</button>
                <button type="button" class="danger" aria-label=${`Reject ${approval.method} ${approval.service}${approval.path}`} onClick=${() => decide(approval, 'reject')}>Reject</button></td>
            </tr>`,
          )}</tbody>
        </table>`
      : null}
  </section>`;
}

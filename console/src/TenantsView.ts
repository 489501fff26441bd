import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api';
import { usd, time } from './format';
import { usePoll } from './usePoll';

interface Cap {
  spent_usd: number;
  cap_usd: number | null;
  share: number | null;
}
interface Spend {
  day: Cap & { policy_cap_usd: number | null; override: boolean };
  month: Cap;
}
interface Key {
  prefix: string;
  name: string | null;
  status: 'active' | 'expired' | 'revoked';
  role: string | null;
  created_at: string;
  expires_at: string | null;
  spend: Spend | null;
}
interface Tenant {
  name: string;
  route: string;
  capped: boolean;
  spend: Spend;
  keys: Key[];
}

/** A cap as a progress bar: amber from 80 % (the budget alert), red when full. */
function CapBar({ label, cap }: { label: string; cap: Cap }) {
  if (cap.cap_usd === null) return html`<span class="muted">${usd(cap.spent_usd)} (no ${label} cap)</span>`;
  const share = Math.min(1, cap.share ?? 0);
  const tone = share >= 1 ? 'full' : share >= 0.8 ? 'warn' : '';
  const text = `${usd(cap.spent_usd)} of ${usd(cap.cap_usd)} ${label} (${Math.round(share * 100)} %)`;
  return html`<div>
    <div class=${`bar ${tone}`} role="progressbar" aria-label=${`${label} spend`} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(share * 100)} aria-valuetext=${text}>
      <span style=${`width:${share * 100}%`}></span>
    </div>
    <div class="note">${text}</div>
  </div>`;
}

function CapTodayForm({ tenant, onDone }: { tenant: Tenant; onDone: (message: string) => void }) {
  const [value, setValue] = useState('');
  const set = async (cap: number | null) => {
    try {
      await api('POST', `tenants/${encodeURIComponent(tenant.name)}/cap-today`, { daily_budget_usd: cap });
      onDone(cap === null ? `Tenant ${tenant.name}: today's cap back to the policy's.` : `Tenant ${tenant.name}: today's cap set to ${usd(cap)}.`);
    } catch (error) {
      onDone(`Could not change the cap: ${(error as Error).message}`);
    }
  };
  return html`<form class="inline" onSubmit=${(event: Event) => {
    event.preventDefault();
    if (value !== '') void set(Number(value));
  }}>
    <label>Cap for today (USD) <input type="number" min="0" step="0.01" style="width:7rem" value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} /></label>
    <button type="submit">Set today's cap</button>
    ${tenant.spend.day.override ? html`<button type="button" onClick=${() => set(null)}>Back to policy cap</button>` : null}
  </form>`;
}

function CreateKeyForm({ tenants, onDone }: { tenants: Tenant[]; onDone: (message: string) => void }) {
  const [tenant, setTenant] = useState(tenants[0]?.name ?? '');
  const [name, setName] = useState('');
  const [admin, setAdmin] = useState(false);
  const [created, setCreated] = useState<string | undefined>(undefined);
  const create = async (event: Event) => {
    event.preventDefault();
    try {
      const result = await api<{ key: string; prefix: string }>('POST', 'keys', { tenant, ...(name ? { name } : {}), admin });
      setCreated(result.key);
      onDone(`Created key ${result.prefix}: copy it now, it is shown once.`);
    } catch (error) {
      onDone(`Could not create the key: ${(error as Error).message}`);
    }
  };
  return html`<form class="inline" onSubmit=${create} aria-label="Create a key">
    <label>Tenant <select value=${tenant} onChange=${(event: Event) => setTenant((event.target as HTMLSelectElement).value)}>
      ${tenants.map((each) => html`<option value=${each.name}>${each.name}</option>`)}
    </select></label>
    <label>Name <input value=${name} onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} /></label>
    <label><input type="checkbox" checked=${admin} onChange=${(event: Event) => setAdmin((event.target as HTMLInputElement).checked)} /> Admin</label>
    <button type="submit" class="primary">Create key</button>
    ${created ? html`<p class="secret" aria-label="New key">${created}</p>` : null}
  </form>`;
}

export function TenantsView({ announce }: { announce: (message: string) => void }) {
  const { data, error, reload } = usePoll(() => api<{ data: Tenant[] }>('GET', 'tenants'));
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const done = (message: string) => {
    announce(message);
    void reload();
  };
  const act = async (prefix: string, action: 'revoke' | 'rotate') => {
    if (action === 'revoke' && !confirm(`Revoke ${prefix}? It stops working at once.`)) return;
    try {
      const result = await api<{ key?: string; prefix: string }>('POST', `keys/${encodeURIComponent(prefix)}/${action}`, action === 'rotate' ? { grace_seconds: 3600 } : undefined);
      done(action === 'revoke' ? `Revoked ${prefix}.` : `Rotated ${prefix}; the new key ${result.prefix} is: ${result.key}`);
    } catch (error) {
      done(`Could not ${action} ${prefix}: ${(error as Error).message}`);
    }
  };
  return html`<section aria-labelledby="tenants-title">
    <h2 id="tenants-title">Tenants and keys</h2>
    <${CreateKeyForm} tenants=${data.data} onDone=${done} />
    ${data.data.map(
      (tenant) => html`<article aria-labelledby=${`tenant-${tenant.name}`} data-tenant=${tenant.name}>
        <h2 id=${`tenant-${tenant.name}`}>Tenant ${tenant.name} <span class="note">route ${tenant.route}</span></h2>
        <div class="cards">
          <div class="card"><div class="label">Today${tenant.spend.day.override ? ` (operator cap; policy ${usd(tenant.spend.day.policy_cap_usd)})` : ''}</div><${CapBar} label="daily" cap=${tenant.spend.day} /></div>
          <div class="card"><div class="label">This month</div><${CapBar} label="monthly" cap=${tenant.spend.month} /></div>
        </div>
        ${tenant.capped
          ? html`<${CapTodayForm} tenant=${tenant} onDone=${done} />`
          : html`<p class="note">No cap in the config: this tenant's spend is not recorded in the ledger.</p>`}
        <table>
          <caption class="sr-only">Keys of tenant ${tenant.name}</caption>
          <thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Own caps</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${tenant.keys.map(
              (key) => html`<tr data-key=${key.prefix}>
                <td><code>${key.prefix}…</code></td>
                <td>${key.name ?? '—'}</td>
                <td><span class=${`badge status-${key.status}`}>${key.status}</span></td>
                <td>${key.role ?? '—'}</td>
                <td>${time(key.created_at)}</td>
                <td>${key.spend ? html`<${CapBar} label="daily" cap=${key.spend.day} />` : html`<span class="muted">tenant's</span>`}</td>
                <td>${key.status === 'active'
                  ? html`<button type="button" onClick=${() => act(key.prefix, 'rotate')}>Rotate</button>
                      <button type="button" class="danger" aria-label=${`Revoke ${key.prefix}`} onClick=${() => act(key.prefix, 'revoke')}>Revoke</button>`
                  : null}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </article>`,
    )}
  </section>`;
}

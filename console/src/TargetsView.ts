import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api';
import { ms, percent, time } from './format';
import { usePoll } from './usePoll';

interface Target {
  key: string;
  provider: string;
  model: string;
  routes: string[];
  state: 'closed' | 'open' | 'half_open';
  trips: number;
  reason: string | null;
  note: string | null;
  open_until: string | null;
  cooldown_remaining_ms: number;
  forced_until: string | null;
  failure_rate: number | null;
  calls_in_window: number;
}

const STATE_LABEL = { closed: 'closed', open: 'open', half_open: 'half-open' } as const;

function ForceForm({ target, onDone }: { target: Target; onDone: (message: string) => void }) {
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState('15');
  const id = target.key.replace(/[^a-z0-9]/gi, '-');
  const force = async (state: 'open' | 'closed') => {
    try {
      await api('POST', 'targets/force', { target: target.key, state, reason: reason || `forced ${state} from the console`, expires_in_seconds: Math.round(Number(minutes) * 60) });
      onDone(`Breaker ${target.provider}/${target.model} forced ${state} for ${minutes} min.`);
    } catch (error) {
      onDone(`Could not force the breaker: ${(error as Error).message}`);
    }
  };
  return html`<form class="inline" onSubmit=${(event: Event) => event.preventDefault()}>
    <label>Reason <input id=${`reason-${id}`} value=${reason} onInput=${(event: Event) => setReason((event.target as HTMLInputElement).value)} /></label>
    <label>Minutes <input type="number" min="1" max="1440" style="width:5rem" value=${minutes} onInput=${(event: Event) => setMinutes((event.target as HTMLInputElement).value)} /></label>
    <button type="button" class="danger" onClick=${() => force('open')}>Force open</button>
    <button type="button" onClick=${() => force('closed')}>Force closed</button>
  </form>`;
}

export function TargetsView({ announce }: { announce: (message: string) => void }) {
  const { data, error, reload } = usePoll(() => api<{ data: Target[] }>('GET', 'targets'));
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const done = (message: string) => {
    announce(message);
    void reload();
  };
  return html`<section aria-labelledby="targets-title">
    <h2 id="targets-title">Targets and their breakers</h2>
    <p class="note">States come from the fleet's breaker table. The failure rate is what this container saw in the breaker's window.</p>
    <table>
      <thead><tr><th scope="col">Target</th><th scope="col">Routes</th><th scope="col">State</th><th scope="col">Trips</th><th scope="col">Last change</th><th scope="col">Failure rate</th><th scope="col">Force</th></tr></thead>
      <tbody>
        ${data.data.map(
          (target) => html`<tr data-target=${target.key} data-state=${target.state}>
            <td><strong>${target.provider}/${target.model}</strong><div class="note">${target.key}</div></td>
            <td>${target.routes.join(', ')}</td>
            <td><span class=${`badge state-${target.state}`}>${STATE_LABEL[target.state]}</span>
              ${target.state !== 'closed' ? html`<div class="note">cooldown ${ms(target.cooldown_remaining_ms)} (until ${time(target.open_until)})</div>` : null}
              ${target.forced_until ? html`<div class="note">held closed until ${time(target.forced_until)}</div>` : null}</td>
            <td>${target.trips}</td>
            <td>${target.reason ?? '—'}${target.note ? html`<div class="note">${target.note}</div>` : null}</td>
            <td>${percent(target.failure_rate)} <span class="note">(${target.calls_in_window} calls)</span></td>
            <td><${ForceForm} target=${target} onDone=${done} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

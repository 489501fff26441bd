import { html } from 'htm/preact';
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { adminKey } from './api';
import { ApprovalsView } from './ApprovalsView';
import { OverviewView } from './OverviewView';
import { css } from './styles';
import { TargetsView } from './TargetsView';
import { TasksView } from './TasksView';
import { TenantsView } from './TenantsView';

const VIEWS = [
  { id: 'overview', label: 'Overview', view: OverviewView },
  { id: 'targets', label: 'Targets', view: TargetsView },
  { id: 'tenants', label: 'Tenants & keys', view: TenantsView },
  { id: 'tasks', label: 'Tasks & DLQ', view: TasksView },
  { id: 'approvals', label: 'Approvals', view: ApprovalsView },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

const viewFromHash = (): ViewId => (VIEWS.find((each) => `#${each.id}` === location.hash)?.id ?? 'overview');

function KeyForm({ onSave }: { onSave: () => void }) {
  const [value, setValue] = useState('');
  return html`<form class="inline" onSubmit=${(event: Event) => {
    event.preventDefault();
    if (value.trim() === '') return;
    adminKey.set(value.trim());
    onSave();
  }}>
    <label for="admin-key">Admin key</label>
    <input id="admin-key" type="password" autocomplete="off" required value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} />
    <button type="submit" class="primary">Open console</button>
    <p class="note">Kept in this tab's session storage only; closing the tab forgets it.</p>
  </form>`;
}

function App() {
  const [hasKey, setHasKey] = useState(adminKey.get() !== null);
  const [view, setView] = useState<ViewId>(viewFromHash());
  const [message, setMessage] = useState('');
  const current = VIEWS.find((each) => each.id === view)!;
  const go = (id: ViewId) => {
    history.replaceState(null, '', `#${id}`);
    setView(id);
    setMessage('');
  };
  return html`<header>
      <h1>Breakwater console</h1>
      ${hasKey
        ? html`<button type="button" onClick=${() => {
            adminKey.clear();
            setHasKey(false);
          }}>Forget key</button>`
        : null}
    </header>
    ${hasKey
      ? html`<nav aria-label="Views"><ul>
          ${VIEWS.map(
            (each) => html`<li><button type="button" aria-current=${each.id === view ? 'page' : undefined} onClick=${() => go(each.id)}>${each.label}</button></li>`,
          )}
        </ul></nav>`
      : null}
    <main>
      <div role="status" aria-live="polite">${message}</div>
      ${hasKey ? html`<${current.view} announce=${setMessage} />` : html`<${KeyForm} onSave=${() => setHasKey(true)} />`}
    </main>`;
}

document.head.append(Object.assign(document.createElement('style'), { textContent: css }));
render(html`<${App} />`, document.getElementById('app')!);

/** Colours meet WCAG AA (4.5:1) for text on their backgrounds; states are named in text too, never colour alone. */
export const css = `
:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --line: #c8c8c8; --bg: #fafafa; --accent: #0b57d0;
  --ok-bg: #d7f5dd; --ok-fg: #0b5a1c; --bad-bg: #fde0de; --bad-fg: #8a1410; --warn-bg: #fff0c2; --warn-fg: #6b4a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
main { padding: 0 1.5rem 2rem; max-width: 1400px; }
nav ul { display: flex; gap: .25rem; list-style: none; margin: 0; padding: .5rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
nav button { background: none; border: 1px solid transparent; padding: .4rem .8rem; border-radius: 4px; font: inherit; color: var(--accent); cursor: pointer; }
nav button[aria-current="page"] { border-color: var(--accent); background: #e8f0fe; color: #082f6e; font-weight: 600; }
button, input, select { font: inherit; }
button { padding: .3rem .7rem; border: 1px solid #5f5f5f; border-radius: 4px; background: #fff; color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { border-color: var(--bad-fg); color: var(--bad-fg); }
button:focus-visible, input:focus-visible, select:focus-visible, a:focus-visible { outline: 3px solid #f29900; outline-offset: 2px; }
input, select { padding: .3rem .45rem; border: 1px solid #6f6f6f; border-radius: 4px; background: #fff; }
label { display: inline-flex; gap: .35rem; align-items: center; margin-right: .6rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .4rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: .75rem; margin-top: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.card .label { color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-weight: 600; font-size: .85rem; }
.state-closed, .status-active, .status-succeeded { background: var(--ok-bg); color: var(--ok-fg); }
.state-open, .status-revoked, .status-failed, .status-dead_lettered { background: var(--bad-bg); color: var(--bad-fg); }
.state-half_open, .status-expired, .status-queued, .status-running, .status-pending { background: var(--warn-bg); color: var(--warn-fg); }
.bar { position: relative; height: 1.1rem; width: 220px; background: #e6e6e6; border: 1px solid #8a8a8a; border-radius: 3px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--ok-fg); }
.bar.warn > span { background: #b26a00; }
.bar.full > span { background: var(--bad-fg); }
.muted { color: var(--muted); }
.note { font-size: .9rem; color: var(--muted); }
.error { color: var(--bad-fg); font-weight: 600; }
.secret { font-family: ui-monospace, monospace; background: #fff8d6; padding: .5rem; border: 1px solid #b08900; word-break: break-all; }
td button + button { margin-left: .4rem; }
form.inline { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .5rem 0; }
[role="status"] { min-height: 1.5rem; margin: .5rem 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
svg text { font-size: 10px; fill: var(--muted); }
`;

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dayAttribute, DynamoSpendLedger, MONTH_ATTRIBUTE, spendKey } from '../../shared/budget';
import { budgetWindows } from '../../shared/budget/windows';
import { chatBody, CONSOLE_KEYS, startConsoleStack, type ConsoleStack } from './consoleStack';

/** Where each view's screenshot goes, for a person to look at (git-ignored). */
const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
const WAIT = { timeout: 15_000 };

/** Debian's Chromium (`apt-get install chromium`, as .ci/run does). */
const chromiumPath = () => execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();

describe('operator console in a real browser (Chromium via playwright-core, against the real gateway)', () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let page: Page;

  const view = async (name: string) => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name, exact: true }).click();
    await page.locator('nav button[aria-current="page"]', { hasText: name }).waitFor(WAIT);
  };
  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    stack = await startConsoleStack();
    // Running as root in CI: Chromium's sandbox needs a user namespace it may not get there.
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('opens with a pasted admin key kept in session storage only, and shows the overview', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await stack.call('/v1/chat/completions', CONSOLE_KEYS.USER, { body: chatBody })).status, 200);
    await page.goto(`${stack.gateway.url}/console`);
    const keyInput = page.getByLabel('Admin key');
    await keyInput.waitFor(WAIT);
    // Keyboard only: type the key and press Enter.
    await keyInput.focus();
    await page.keyboard.type(CONSOLE_KEYS.ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    await page.getByText('requests, last hour').waitFor(WAIT);
    const stored = await page.evaluate("({ session: sessionStorage.getItem('breakwater.adminKey'), local: localStorage.length, cookie: document.cookie })");
    assert.deepEqual(stored, { session: CONSOLE_KEYS.ADMIN, local: 0, cookie: '' });
    const requests = await page.locator('.card', { hasText: 'requests, last hour' }).locator('.value').textContent();
    assert.ok(Number(requests) >= 3, `requests shown: ${requests}`);
    await page.getByRole('img', { name: /Spend per hour/ }).waitFor(WAIT);
    await shoot('overview');
  });

  it('a breaker tripped by failing calls is shown open', async () => {
    // Five failures in a row on the primary (each request then falls back and is served).
    stack.upstream.reset();
    stack.upstream.script(...Array.from({ length: 5 }, () => [{ status: 500, body: { error: { message: 'upstream down' } } }, {}]).flat());
    for (let i = 0; i < 5; i++) assert.equal((await stack.call('/v1/chat/completions', CONSOLE_KEYS.USER, { body: chatBody })).status, 200);
    await view('Targets');
    const primary = page.locator(`tr[data-target="${stack.targetKeys.primary}"]`);
    await primary.and(page.locator('[data-state="open"]')).waitFor(WAIT);
    assert.equal((await primary.locator('.badge').textContent())?.trim(), 'open');
    assert.equal(await page.locator(`tr[data-target="${stack.targetKeys.backup}"]`).getAttribute('data-state'), 'closed');
    await shoot('targets');

    // Forced closed from the page, with a reason: the row turns closed.
    await primary.getByLabel('Reason').fill('provider says fixed');
    await primary.getByRole('button', { name: 'Force closed' }).click();
    await primary.and(page.locator('[data-state="closed"]')).waitFor(WAIT);
    await page.getByRole('status').getByText(/forced closed/).waitFor(WAIT);
  });

  it('a tenant near its cap shows the bar near full', async () => {
    const windows = budgetWindows(stack.clock.now());
    const ledger = new DynamoSpendLedger(stack.dynamo.doc, stack.dynamo.tables.spend);
    await ledger.adjust(spendKey('capped', windows), [{ label: 'month', attribute: MONTH_ATTRIBUTE }, { label: 'day', attribute: dayAttribute(windows) }], 900_000);
    await view('Tenants & keys');
    const bar = page.locator('article[data-tenant="capped"]').getByRole('progressbar', { name: 'daily spend' });
    await bar.waitFor(WAIT);
    assert.equal(await bar.getAttribute('aria-valuenow'), '90');
    assert.match((await bar.getAttribute('class')) ?? '', /warn/, 'past 80 % the bar turns amber');
    assert.match((await bar.getAttribute('aria-valuetext')) ?? '', /\$0\.90 of \$1\.00 daily/);
    await shoot('tenants');
  });

  it('a key created and then revoked in the console fails on its next request', async () => {
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Tenant').selectOption('acme');
    await form.getByLabel('Name').fill('browser-made');
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('New key');
    await shown.waitFor(WAIT);
    const key = (await shown.textContent())!.trim();
    assert.match(key, /^bw_/);
    assert.equal((await stack.call('/v1/chat/completions', key, { body: chatBody })).status, 200, 'the new key works');

    const prefix = (await page.locator('tr', { hasText: 'browser-made' }).getAttribute('data-key'))!;
    await page.getByRole('button', { name: `Revoke ${prefix}` }).click();
    await page.locator(`tr[data-key="${prefix}"] .badge`, { hasText: 'revoked' }).waitFor(WAIT);
    const next = await stack.call('/v1/chat/completions', key, { body: chatBody });
    assert.equal(next.status, 401, 'the next request with the revoked key fails');
    assert.equal(next.json.error.code, 'invalid_api_key');
  });

  it('tasks and the DLQ: depth shown, filter by status, redrive empties it', async () => {
    assert.equal((await stack.call('/v1/tasks', CONSOLE_KEYS.USER, { body: { request: chatBody } })).status, 202);
    await stack.queues.sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.queues.dlq.url, MessageBody: JSON.stringify({ v: 1, tenant: 'acme', id: 'task_dead' }) }));
    await view('Tasks & DLQ');
    await page.locator('[data-dlq-depth="1"]').waitFor(WAIT);
    await page.getByLabel('Status').selectOption('queued');
    await page.locator('td .badge', { hasText: 'queued' }).first().waitFor(WAIT);
    await shoot('tasks');
    await page.getByRole('button', { name: 'Redrive DLQ' }).click();
    await page.locator('[data-dlq-depth="0"]').waitFor(WAIT);
    await page.getByRole('status').getByText(/1 moved/).waitFor(WAIT);
  });

  it('a held tool call approved with one click runs', async () => {
    stack.toolApi.reset();
    const held = await fetch(`${stack.gateway.url}/v1/tools/pay/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONSOLE_KEYS.USER}`, 'content-type': 'application/json', 'idempotency-key': 'refund-browser-1' },
      body: JSON.stringify({ amount: 25_000 }),
    });
    assert.equal(held.status, 202);
    const { id } = (await held.json()) as { id: string };
    assert.equal(stack.toolApi.requests.length, 0, 'held, not run');

    await view('Approvals');
    const row = page.locator(`tr[data-approval="${id}"]`);
    await row.waitFor(WAIT);
    await shoot('approvals');
    await row.getByRole('button', { name: /^Approve / }).click();
    await page.getByRole('status').getByText(/^Approved POST pay\/v1\/refunds/).waitFor(WAIT);
    await page.getByText('Nothing waits for approval.').waitFor(WAIT);
    assert.equal(stack.toolApi.requests.length, 1, 'the approved call ran once');
    const outcome = await stack.call(`/v1/approvals/${id}`, CONSOLE_KEYS.USER);
    assert.equal(outcome.json.status, 'succeeded');
  });

  it('a non-admin key sees the refusal, not data', async () => {
    await page.getByRole('button', { name: 'Forget key' }).click();
    await page.getByLabel('Admin key').fill(CONSOLE_KEYS.USER);
    await page.getByRole('button', { name: 'Open console' }).click();
    await page.getByRole('alert').getByText(/admin_required/).waitFor(WAIT);
  });
});

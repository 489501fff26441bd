import type { AdminStores } from '../../admin/AdminStores';
import { breakerTargets } from '../../admin/breakerTargets';
import type { RecentRequests } from '../../admin/RecentRequests';
import type { SpendNow } from '../../admin/SpendOverview';
import type { BreakerRecord } from '../../breaker/state';
import type { CompiledConfig } from '../../config';
import type { GatewayServices } from '../../gateway/GatewayServices';
import { keySpendScope } from '../../gateway/reserveSpend';
import { keyState, type KeyRecord } from '../../keys';
import type { TaskView } from '../../tasks/Task';
import { approvalView, type Approvals } from '../../tools/approvals';

/** What the read views need; one object so each view is a plain function of it. */
export interface AdminContext {
  config: CompiledConfig;
  services: GatewayServices;
  stores: AdminStores;
  recent: RecentRequests;
  approvals?: Approvals;
  now: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** Every configured target's breaker, from the shared table (the fleet's state), with this container's failure rate. */
export async function targetsView({ config, services, stores, now }: AdminContext) {
  const targets = breakerTargets(config);
  const records = await Promise.all(targets.map((target) => stores.breakers.get(target.key)));
  return targets.map((target, i) => {
    const record = records[i]!;
    const local = services.breakers?.localCounts(target.key, target.target.breaker.windowMs);
    return {
      key: target.key,
      provider: target.provider,
      model: target.model,
      routes: target.routes,
      ...breakerView(record, now),
      failure_rate: local && local.calls > 0 ? local.failures / local.calls : null,
      calls_in_window: local?.calls ?? 0,
      breaker: {
        failure_threshold: target.target.breaker.failureThreshold,
        failure_rate_percent: target.target.breaker.failureRatePercent,
        window_ms: target.target.breaker.windowMs,
        cooldown_ms: target.target.breaker.cooldownMs,
      },
    };
  });
}

export function breakerView(record: BreakerRecord, now: number) {
  const open = record.state !== 'closed';
  return {
    state: record.state,
    trips: record.trips,
    reason: record.reason ?? null,
    note: record.note ?? null,
    opened_at: open ? iso(record.openedAt) : null,
    open_until: open ? iso(record.openUntil) : null,
    cooldown_remaining_ms: open ? Math.max(0, record.openUntil - now) : 0,
    forced_until: record.forcedUntil !== undefined && record.forcedUntil > now ? iso(record.forcedUntil) : null,
  };
}

/** One cap against its spend: null cap means none. */
const capView = (spentUsd: number, capUsd: number | undefined) => ({
  spent_usd: spentUsd,
  cap_usd: capUsd ?? null,
  share: capUsd === undefined ? null : capUsd === 0 ? 1 : spentUsd / capUsd,
});

function spendView(spend: SpendNow, policy: { daily_budget_usd?: number; monthly_budget_usd?: number }) {
  return {
    day: { ...capView(spend.dayUsd, spend.dayCapOverrideUsd ?? policy.daily_budget_usd), policy_cap_usd: policy.daily_budget_usd ?? null, override: spend.dayCapOverrideUsd !== undefined },
    month: capView(spend.monthUsd, policy.monthly_budget_usd),
  };
}

/** Tenants (config) with spend against their caps, and their stored keys with the keys' own caps. */
export async function tenantsView({ config, stores, now }: AdminContext) {
  const keys = await stores.keys.list();
  const byTenant = new Map<string, KeyRecord[]>();
  for (const record of keys) byTenant.set(record.tenant, [...(byTenant.get(record.tenant) ?? []), record]);
  return Promise.all(
    [...config.tenants.values()].map(async (tenant) => {
      const tenantKeys = byTenant.get(tenant.name) ?? [];
      const [spend, keySpends] = await Promise.all([
        stores.spend.read(tenant.name, now),
        Promise.all(
          tenantKeys.map((record) =>
            record.policy.daily_budget_usd !== undefined || record.policy.monthly_budget_usd !== undefined
              ? stores.spend.read(keySpendScope({ tenant: { name: tenant.name }, keyId: record.hash }), now)
              : undefined,
          ),
        ),
      ]);
      return {
        name: tenant.name,
        route: tenant.route,
        limits: { rpm_limit: tenant.policy.rpm_limit ?? null, tpm_limit: tenant.policy.tpm_limit ?? null },
        // Only a capped tenant's requests write the ledger: today's cap can be changed for those.
        capped: tenant.policy.daily_budget_usd !== undefined || tenant.policy.monthly_budget_usd !== undefined,
        spend: spendView(spend, tenant.policy),
        keys: tenantKeys.map((record, i) => ({
          prefix: record.prefix,
          name: record.name ?? null,
          status: keyState(record, now),
          // A key's own role wins; else its tenant's (config keys get theirs from the tenant block).
          role: record.policy.role ?? tenant.policy.role ?? null,
          created_at: iso(record.createdAt),
          expires_at: iso(record.expiresAt),
          revoked_at: iso(record.revokedAt),
          limits: { rpm_limit: record.policy.rpm_limit ?? null, tpm_limit: record.policy.tpm_limit ?? null },
          spend: keySpends[i] ? spendView(keySpends[i]!, record.policy) : null,
        })),
      };
    }),
  );
}

/** The newest tasks of every tenant (or one), optionally of one status. */
export async function tasksView({ config, services }: AdminContext, filter: { tenant?: string; status?: string }) {
  const tasks = services.tasks;
  if (!tasks) return { enabled: false, data: [] as Array<TaskView & { tenant: string }> };
  const tenants = filter.tenant ? [filter.tenant] : [...config.tenants.keys()];
  const lists = await Promise.all(tenants.map(async (tenant) => (await tasks.list(tenant, { limit: '100' })).data.map((task) => ({ ...task, tenant }))));
  const data = lists
    .flat()
    .filter((task) => filter.status === undefined || task.status === filter.status)
    .sort((a, b) => b.created_at - a.created_at);
  return { enabled: true, data };
}

export async function dlqView(context: AdminContext) {
  const deadLetters = context.stores.deadLetters;
  const queues = deadLetters ? await deadLetters.depth() : [];
  const tasks = await tasksView(context, { status: 'dead_lettered' });
  return {
    enabled: deadLetters !== undefined,
    depth: queues.reduce((sum, queue) => sum + queue.visible + queue.inFlight, 0),
    queues: queues.map((queue) => ({ name: queue.url.split('/').pop(), visible: queue.visible, in_flight: queue.inFlight })),
    dead_lettered_tasks: tasks.data,
  };
}

export async function approvalsView({ approvals }: AdminContext) {
  if (!approvals) return { enabled: false, data: [] };
  return { enabled: true, data: (await approvals.list({})).map(approvalView) };
}

/** A part of the overview that failed shows as null with its error, rather than blanking the page. */
async function part<T>(read: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await read();
  } catch (error) {
    return { error: (error as Error).name ?? 'Error' };
  }
}

/** The overview: this container's last hour, the fleet's spend today, and counts of what needs a look. */
export async function overviewView(context: AdminContext) {
  const { config, stores, now } = context;
  const [spend, targets, dlq, approvals] = await Promise.all([
    // The ledger only (no key scan): the overview is polled.
    part(() => Promise.all([...config.tenants.keys()].map((tenant) => stores.spend.read(tenant, now)))),
    part(() => targetsView(context)),
    part(() => dlqView(context)),
    part(() => approvalsView(context)),
  ]);
  const list = <T>(value: T[] | { error: string }) => (Array.isArray(value) ? value : undefined);
  const spendList = list(spend);
  const targetList = list(targets);
  return {
    requests: context.recent.summary(),
    spend_today_usd: spendList ? round(spendList.reduce((sum, tenant) => sum + tenant.dayUsd, 0)) : null,
    targets: targetList ? countBy(targetList.map((target) => target.state)) : null,
    dlq_depth: 'depth' in dlq ? dlq.depth : null,
    pending_approvals: 'data' in approvals ? approvals.data.length : null,
  };
}

const countBy = (values: string[]) => values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

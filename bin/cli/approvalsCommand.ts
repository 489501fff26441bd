import { parseArgs } from 'node:util';
import { TABLES } from '../../shared/stores/dynamo/tables';
import { APPROVAL_STATUS, type ApprovalRecord, type DynamoApprovalStore } from '../../shared/tools/approvals';
import type { CliIo } from './keysCommand';
import { UsageError } from './UsageError';

export const APPROVALS_USAGE = `Usage:
  breakwater approvals list [--tenant <tenant>] [--json]
  breakwater approvals approve <id> [--reason <text>]
  breakwater approvals reject <id> [--reason <text>]

Tool calls a service's high_stakes rules held for a person. approve records the decision; the
call then runs exactly once, when the agent fetches GET /v1/approvals/<id> (or at once when an
admin key approves over HTTP: POST /v1/approvals/<id>/approve). A rejected or expired call never runs.

Options:
  --table <name>   the approvals table (default: $${TABLES.approvals.envVar}, else ${TABLES.approvals.localName})
  --stage <name>   the approvals table of a deployed stage, from its Breakwater-<Stage>-State stack's outputs
  -h, --help       show this help
The store: as for "breakwater keys" (AWS_ENDPOINT_URL_DYNAMODB against "npm start").`;

export interface ApprovalsCommandDeps {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** The store on a table by name, or on the table a deployed stage's state stack outputs. */
  openStore(where: { table: string } | { stage: string }): DynamoApprovalStore | Promise<DynamoApprovalStore>;
}

/** `breakwater approvals list | approve | reject`. */
export async function approvalsCommand(argv: readonly string[], deps: ApprovalsCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h') {
    deps.io.out(APPROVALS_USAGE);
    return subcommand === undefined ? 2 : 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      strict: true,
      options: { table: { type: 'string' }, stage: { type: 'string' }, tenant: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message, APPROVALS_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.table !== undefined && values.stage !== undefined) throw new UsageError('pass --table or --stage, not both', APPROVALS_USAGE);
  const where =
    values.stage !== undefined ? { stage: values.stage } : { table: values.table ?? (deps.env[TABLES.approvals.envVar]?.trim() || TABLES.approvals.localName) };

  if (subcommand === 'list') {
    const records = await (await deps.openStore(where)).list(APPROVAL_STATUS.PENDING, values.tenant ? { tenant: values.tenant } : {});
    const waiting = records.filter((record) => record.expires_at > deps.now());
    if (values.json) {
      deps.io.out(JSON.stringify(waiting));
      return 0;
    }
    if (waiting.length === 0) deps.io.out('no approvals waiting');
    for (const record of waiting) deps.io.out(describe(record, deps.now()));
    return 0;
  }
  if (subcommand !== 'approve' && subcommand !== 'reject') throw new UsageError(`unknown approvals command "${subcommand}"`, APPROVALS_USAGE);
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError(`${subcommand} takes one approval id`, APPROVALS_USAGE);
  const store = await deps.openStore(where);
  const to = subcommand === 'approve' ? APPROVAL_STATUS.APPROVED : APPROVAL_STATUS.REJECTED;
  const by = `cli:${deps.env.USER ?? deps.env.USERNAME ?? 'operator'}`;
  if (await store.decide(id, to, by, values.reason, deps.now())) {
    deps.io.out(`${id} ${to}${to === APPROVAL_STATUS.APPROVED ? ': it runs once, when the agent fetches GET /v1/approvals/' + id : ''}`);
    return 0;
  }
  const record = await store.get(id);
  if (!record) deps.io.err(`error: no approval "${id}"`);
  else if (record.status === APPROVAL_STATUS.PENDING) deps.io.err(`error: ${id} expired at ${new Date(record.expires_at).toISOString()}; it will not run`);
  else deps.io.err(`error: ${id} is already ${record.status}`);
  return 1;
}

function describe(record: ApprovalRecord, now: number): string {
  const minutes = Math.max(0, Math.round((record.expires_at - now) / 60_000));
  return `${record.id}  ${record.tenant}  ${record.key_prefix}  ${record.service}  ${record.method} ${record.path}  (rule ${record.rule}; expires in ${minutes} min)`;
}

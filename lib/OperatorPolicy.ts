import { Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLES } from '../shared/stores/dynamo/tables.js';
import type { TaskQueues } from './TaskQueues.js';

/**
 * What each operator tool sends, and nothing more (read from bin/cli/ and the stores it opens;
 * a new command there needs its action here, and the infra tests pin these lists).
 */
export const OPERATOR_ACTIONS = {
  /**
   * `--stage`: bin/cli/stackTables.ts finds a table's name in the stage's state stack outputs,
   * `keys create` the deployed config's tenants in the gateway stack's (bin/cli/deployedTenants.ts).
   */
  describeStacks: ['cloudformation:DescribeStacks'],
  /** `keys create --stage` with AppConfig delivery: the deployed config version, to check the tenant against. */
  readConfig: ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession'],
  /** `breakwater keys` (DynamoKeyStore): create (Put), list and find by prefix (Scan), revoke and rotate (Get, Update). */
  keys: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
  /**
   * `breakwater approvals` (DynamoApprovalStore): approve and reject (Update, then Get to
   * explain a refusal). The CLI only records the decision: the approved call runs in the
   * gateway when the agent fetches it, so the operator needs no tool secrets.
   */
  approvals: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** `breakwater approvals list`: the pending ones, from the by-status index. */
  approvalsIndex: ['dynamodb:Query'],
  /**
   * `breakwater dlq redrive` on a dead-letter queue: its ARN (GetQueueAttributes), then SQS's
   * move task (StartMessageMoveTask, which receives and deletes as the caller), or the copy
   * with --to (ReceiveMessage, DeleteMessageBatch = DeleteMessage).
   */
  deadLetterQueues: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:StartMessageMoveTask'],
  /** The queues a redrive sends to: the move task's destination (its ARN with --to) or the copy's SendMessageBatch. */
  sourceQueues: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
} as const;

export interface OperatorPolicyProps {
  readonly keysTable: Table;
  readonly approvalsTable: Table;
  readonly queues: TaskQueues;
  /** Stacks whose outputs the CLI reads with `--stage`. */
  readonly stackNames: readonly string[];
  /**
   * The AppConfig configuration the functions read (AppConfigDelivery's `configurationArn`).
   * @default undefined — no AppConfig delivery: the tenants come from a stack output
   */
  readonly configurationArn?: string;
}

/**
 * An IAM managed policy with exactly what the operator tools need on one stage (keys,
 * approvals, DLQ redrive, finding the tables and the deployed config's tenants by stage), to attach to the operators' role or
 * group; nothing in the stack uses it. Every statement names its resources; only
 * DescribeStacks ends in `/*`, the stack id CloudFormation appends to the stage's stack names.
 */
export class OperatorPolicy extends Construct {
  readonly policy: ManagedPolicy;
  /** The DescribeStacks resources: `arn:...:stack/<name>/*`, one per stack name. */
  readonly stackArns: readonly string[];

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.stackArns = props.stackNames.map((name) => stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` }));
    const approvalsIndexes = (TABLES.approvals.indexes ?? []).map((index) => `${props.approvalsTable.tableArn}/index/${index.name}`);
    const { high, normal } = props.queues;
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Breakwater operators of ${stack.stackName}: breakwater keys, approvals and dlq redrive`,
      statements: [
        new PolicyStatement({
          actions: [...OPERATOR_ACTIONS.describeStacks],
          resources: [...this.stackArns],
        }),
        new PolicyStatement({ actions: [...OPERATOR_ACTIONS.keys], resources: [props.keysTable.tableArn] }),
        new PolicyStatement({ actions: [...OPERATOR_ACTIONS.approvals], resources: [props.approvalsTable.tableArn] }),
        new PolicyStatement({ actions: [...OPERATOR_ACTIONS.approvalsIndex], resources: approvalsIndexes }),
        new PolicyStatement({
          actions: [...OPERATOR_ACTIONS.deadLetterQueues],
          resources: [high.deadLetterQueue.queueArn, normal.deadLetterQueue.queueArn],
        }),
        new PolicyStatement({ actions: [...OPERATOR_ACTIONS.sourceQueues], resources: [high.queue.queueArn, normal.queue.queueArn] }),
        ...(props.configurationArn === undefined
          ? []
          : [new PolicyStatement({ actions: [...OPERATOR_ACTIONS.readConfig], resources: [props.configurationArn] })]),
      ],
    });
  }
}

import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { TABLES, type TableId } from '../shared/stores/dynamo/tables.js';
import { readConfigNeeds, type ConfigNeeds } from './configNeeds.js';
import { DEFAULT_CONFIG_PATH, fromRepoRoot } from './paths.js';
import { DEFAULT_SECRET_PREFIX, ProviderSecrets } from './ProviderSecrets.js';
import { suppressStateFindings } from './nagSuppressions.js';
import { pascalTableId, StateTables } from './StateTables.js';
import { TaskQueues } from './TaskQueues.js';
import { DEFAULT_WORKER_TIMEOUT } from './WorkerFunction.js';

/** Stack output names the CLI reads (table names, queue URLs and ARNs, the secret prefix). */
export const OUTPUTS = {
  tableName: (tableId: string) => `${pascalTableId(tableId)}TableName`,
  QUEUE_HIGH_URL: 'QueueHighUrl',
  QUEUE_NORMAL_URL: 'QueueNormalUrl',
  QUEUE_HIGH_ARN: 'QueueHighArn',
  QUEUE_NORMAL_ARN: 'QueueNormalArn',
  DLQ_HIGH_URL: 'DeadLetterQueueHighUrl',
  DLQ_NORMAL_URL: 'DeadLetterQueueNormalUrl',
  DLQ_HIGH_ARN: 'DeadLetterQueueHighArn',
  DLQ_NORMAL_ARN: 'DeadLetterQueueNormalArn',
  SECRET_PREFIX: 'SecretPrefix',
  ALARM_TOPIC_ARN: 'AlarmTopicArn',
} as const;

export interface StateStackProps extends StackProps {
  /**
   * Routing config whose providers' credentials and tenants become secrets.
   * @default <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /**
   * The worker function's timeout: the task queues' visibility timeout is six times it.
   * @default {@link DEFAULT_WORKER_TIMEOUT}
   */
  readonly workerTimeout?: Duration;
  /**
   * Prefix of every secret's name, so two stages in one account keep apart.
   * @default 'breakwater/'
   */
  readonly secretPrefix?: string;
  /**
   * Physical table names are `<prefix><table-id>`, stable per stage.
   * @default undefined — generated names
   */
  readonly tableNamePrefix?: string;
  /**
   * Address subscribed to the alarm topic (it must confirm the subscription by email).
   * @default no subscription
   */
  readonly alarmEmail?: string;
}

/**
 * Everything that holds data or identity and must survive a release: the DynamoDB tables, the
 * task queues, the provider and callback secrets, the alarm topic. It changes rarely and never
 * because a function did: the functions, the API and the dashboards live in {@link GatewayStack},
 * which reads these through cross-stack references.
 */
export class StateStack extends Stack {
  readonly tables: StateTables;
  readonly queues: TaskQueues;
  readonly secrets: ProviderSecrets;
  readonly alarmTopic: Topic;
  /** What the routing config asks of the infrastructure (credentials, tenants, Bedrock). */
  readonly needs: ConfigNeeds;

  constructor(scope: Construct, id: string, props: StateStackProps = {}) {
    super(scope, id, {
      description: 'Breakwater state: DynamoDB tables, SQS task queues, provider secrets, the alarm topic',
      ...props,
    });

    this.tables = new StateTables(this, 'State', { tableNamePrefix: props.tableNamePrefix });
    this.needs = readConfigNeeds(fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH));
    this.secrets = new ProviderSecrets(this, 'Secrets', { needs: this.needs, prefix: props.secretPrefix ?? DEFAULT_SECRET_PREFIX });
    this.queues = new TaskQueues(this, 'Tasks', { workerTimeout: props.workerTimeout ?? DEFAULT_WORKER_TIMEOUT });
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'Breakwater alarms',
      // Only CloudWatch alarms publish here, and only over TLS.
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    for (const [tableId, table] of Object.entries(this.tables.tables)) {
      new CfnOutput(this, OUTPUTS.tableName(tableId), {
        description: `DynamoDB table "${tableId}" (${TABLES[tableId as TableId].envVar})`,
        value: table.tableName,
      });
    }
    const { high, normal } = this.queues;
    const queueOutputs: Array<[string, string, string]> = [
      [OUTPUTS.QUEUE_HIGH_URL, high.queue.queueUrl, 'High-priority task queue URL'],
      [OUTPUTS.QUEUE_NORMAL_URL, normal.queue.queueUrl, 'Normal-priority task queue URL'],
      [OUTPUTS.QUEUE_HIGH_ARN, high.queue.queueArn, 'High-priority task queue ARN'],
      [OUTPUTS.QUEUE_NORMAL_ARN, normal.queue.queueArn, 'Normal-priority task queue ARN'],
      [OUTPUTS.DLQ_HIGH_URL, high.deadLetterQueue.queueUrl, 'High-priority dead-letter queue URL'],
      [OUTPUTS.DLQ_NORMAL_URL, normal.deadLetterQueue.queueUrl, 'Normal-priority dead-letter queue URL'],
      [OUTPUTS.DLQ_HIGH_ARN, high.deadLetterQueue.queueArn, 'High-priority DLQ ARN (StartMessageMoveTask source)'],
      [OUTPUTS.DLQ_NORMAL_ARN, normal.deadLetterQueue.queueArn, 'Normal-priority DLQ ARN (StartMessageMoveTask source)'],
    ];
    for (const [outputId, value, description] of queueOutputs) new CfnOutput(this, outputId, { description, value });
    new CfnOutput(this, OUTPUTS.SECRET_PREFIX, {
      description: 'Prefix of the provider credential secrets (set them with aws secretsmanager put-secret-value)',
      value: this.secrets.prefix,
    });
    new CfnOutput(this, OUTPUTS.ALARM_TOPIC_ARN, {
      description: 'SNS topic every Breakwater alarm notifies (subscribe pagers or chat here)',
      value: this.alarmTopic.topicArn,
    });

    suppressStateFindings({ tables: this.tables, secrets: this.secrets, queues: this.queues, alarmTopic: this.alarmTopic });
  }
}

import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TABLES, type IndexSpec, type TableId, type TableSpec } from '../shared/stores/dynamo/tables.js';
import { READ_ONLY_ACTIONS, TABLE_ACTIONS } from './tableActions.js';

/**
 * Tables holding customer data: spend (what tenants owe), keys (who may call), tasks (results
 * clients come back for), stored responses (conversations clients continue), end users' tool
 * connections and the approval decisions on tool calls (an audit trail). They get
 * point-in-time recovery and deletion protection, and outlive a stack deletion. The rest hold
 * state that rebuilds itself (breakers, cache) or expires within a day (idempotency, rate
 * windows). Strings, not TableIds, so a table can be named here before it exists in TABLES.
 */
export const CUSTOMER_DATA_TABLES: ReadonlySet<string> = new Set(['spend', 'keys', 'tasks', 'responses', 'connections', 'approvals']);

export interface StateTablesProps {
  /**
   * Physical table names are `<prefix><table-id>` (`breakwater-prod-rate-limits`): stable and
   * stage-scoped, so a retained table is found again (`cdk deploy --import-existing-resources`)
   * after a destroy instead of orphaned next to a new empty one.
   * @default undefined — CloudFormation generates the names
   */
  readonly tableNamePrefix?: string;
}

export const TABLE_ACCESS = { READ: 'read', READ_WRITE: 'readWrite' } as const;
export type TableAccess = (typeof TABLE_ACCESS)[keyof typeof TABLE_ACCESS];

/**
 * Which tables a function may touch, and how: `readWrite` is every action the table's code
 * sends ({@link TABLE_ACTIONS}), `read` only its reads. A table not named is out of reach.
 */
export type TableGrants = Partial<Record<TableId, TableAccess>>;

/** `spend` → `Spend`, `rateLimits` → `RateLimits`: construct ids and output names. */
export const pascalTableId = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);
/** `rateLimits` → `rate-limits`: physical table names. */
export const kebabTableId = (id: string): string => id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Every table in {@link TABLES}, described once in shared/stores/dynamo/tables.ts and created
 * here the way the local store creates it: one string partition key, TTL where items expire.
 * On-demand billing (traffic is bursty and a provisioned table throttles exactly when the
 * fleet needs its state most), AWS-managed encryption, point-in-time recovery where the spec
 * asks for it and on every customer-data table.
 *
 * Adding a table is one entry in {@link TABLES} (and a line in the functions' grants): it is
 * created, named, output and granted from there.
 */
export class StateTables extends Construct {
  readonly tables: Readonly<Record<TableId, Table>>;

  constructor(scope: Construct, id: string, props: StateTablesProps = {}) {
    super(scope, id);
    const entries = (Object.entries(TABLES) as Array<[TableId, TableSpec]>).map(
      ([tableId, spec]) => [tableId, this.createTable(tableId, spec, props.tableNamePrefix)] as const,
    );
    this.tables = Object.fromEntries(entries) as Record<TableId, Table>;
  }

  /**
   * Grants `fn` exactly the listed tables and sets each one's name in the env var its spec
   * names. Tables not listed get neither.
   */
  grantTo(fn: LambdaFunction, grants: TableGrants): void {
    for (const [tableId, access] of Object.entries(grants) as Array<[TableId, TableAccess]>) {
      const table = this.tables[tableId];
      const actions = TABLE_ACTIONS[tableId].filter((action) => access === TABLE_ACCESS.READ_WRITE || READ_ONLY_ACTIONS.has(action));
      this.grant(table, (TABLES[tableId] as TableSpec).indexes ?? [], fn, actions);
      fn.addEnvironment(TABLES[tableId].envVar, table.tableName);
    }
  }

  /**
   * `actions` on the table and its indexes by name: the L2 grants grant every data action
   * (Scan, BatchWrite, streams) on `<table>/index/*`, a wildcard for indexes that do not exist yet.
   */
  private grant(table: Table, indexes: readonly IndexSpec[], grantee: IGrantable, actions: readonly string[]): void {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index.name}`)],
    });
  }

  private createTable(tableId: TableId, spec: TableSpec, namePrefix: string | undefined): Table {
    const customerData = CUSTOMER_DATA_TABLES.has(tableId);
    const table = new Table(this, pascalTableId(tableId), {
      ...(namePrefix !== undefined ? { tableName: `${namePrefix}${kebabTableId(tableId)}` } : {}),
      partitionKey: { name: spec.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      ...(spec.ttlAttribute ? { timeToLiveAttribute: spec.ttlAttribute } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: customerData || spec.pointInTimeRecovery === true },
      // Deletion protection refuses even a console or CLI delete; RETAIN keeps the table when
      // the stack goes. Both, for data only the customer can recreate.
      deletionProtection: customerData,
      removalPolicy: customerData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of spec.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey.name, type: index.sortKey.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
    return table;
  }
}

import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TABLES, type TableId, type TableSpec } from '../shared/stores/dynamo/tables.js';

/**
 * Tables whose loss costs money or identity: spend (what tenants owe), keys (who may call),
 * tasks (results clients come back for). They outlive a stack deletion. The rest hold state
 * that rebuilds itself (breakers, cache), expires within a day (idempotency, rate windows), or
 * is conversation state a client can always send again in full (stored responses, 30 days).
 */
export const RETAINED_TABLES: ReadonlySet<TableId> = new Set<TableId>(['spend', 'keys', 'tasks']);

export const TABLE_ACCESS = { READ: 'read', READ_WRITE: 'readWrite' } as const;
export type TableAccess = (typeof TABLE_ACCESS)[keyof typeof TABLE_ACCESS];

/** Which tables a function may touch, and how; a table not named is out of its reach. */
export type TableGrants = Partial<Record<TableId, TableAccess>>;

/** `spend` → `Spend`, `rateLimits` → `RateLimits`: construct ids and output names. */
export const pascalTableId = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);

/**
 * Every table in {@link TABLES}, described once in shared/stores/dynamo/tables.ts and created
 * here the way the local store creates it: one string partition key, TTL where items expire.
 * On-demand billing (traffic is bursty and a provisioned table throttles exactly when the
 * fleet needs its state most), AWS-managed encryption, point-in-time recovery where the spec
 * asks for it.
 */
export class StateTables extends Construct {
  readonly tables: Readonly<Record<TableId, Table>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const entries = (Object.entries(TABLES) as Array<[TableId, TableSpec]>).map(
      ([tableId, spec]) => [tableId, this.createTable(tableId, spec)] as const,
    );
    this.tables = Object.fromEntries(entries) as Record<TableId, Table>;
  }

  /**
   * Grants `fn` exactly the listed tables (L2 `grantReadData` / `grantReadWriteData`) and
   * sets each one's name in the env var its spec names. Tables not listed get neither.
   */
  grantTo(fn: LambdaFunction, grants: TableGrants): void {
    for (const [tableId, access] of Object.entries(grants) as Array<[TableId, TableAccess]>) {
      const table = this.tables[tableId];
      this.grant(table, fn, access);
      fn.addEnvironment(TABLES[tableId].envVar, table.tableName);
    }
  }

  private grant(table: Table, grantee: IGrantable, access: TableAccess): void {
    if (access === TABLE_ACCESS.READ) table.grantReadData(grantee);
    else table.grantReadWriteData(grantee);
  }

  private createTable(tableId: TableId, spec: TableSpec): Table {
    const table = new Table(this, pascalTableId(tableId), {
      partitionKey: { name: spec.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      ...(spec.ttlAttribute ? { timeToLiveAttribute: spec.ttlAttribute } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: spec.pointInTimeRecovery === true },
      removalPolicy: RETAINED_TABLES.has(tableId) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
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

import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableId, type TableNames, type TableSpec } from './tables';

/**
 * Creates the tables that are missing (locally and in tests; on AWS the stack owns them).
 * TTL is not set up: dynalite lacks UpdateTimeToLive, and expiry is also checked on read.
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    (Object.keys(TABLES) as TableId[]).map(async (id) => {
      const TableName = names[id];
      try {
        await client.send(new DescribeTableCommand({ TableName }));
        return;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException) && (error as Error).name !== 'ResourceNotFoundException') throw error;
      }
      const spec: TableSpec = TABLES[id];
      const key = spec.partitionKey;
      const indexes = spec.indexes ?? [];
      const attributes = new Map<string, 'S' | 'N'>([[key, 'S']]);
      for (const index of indexes) attributes.set(index.partitionKey, 'S').set(index.sortKey.name, index.sortKey.type);
      try {
        await client.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
            KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
            ...(indexes.length > 0
              ? {
                  GlobalSecondaryIndexes: indexes.map((index) => ({
                    IndexName: index.name,
                    KeySchema: [
                      { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                      { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
                    ],
                    Projection: { ProjectionType: 'ALL' as const },
                  })),
                }
              : {}),
          }),
        );
      } catch (error) {
        // Another local instance sharing the store created it first.
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
    }),
  );
}

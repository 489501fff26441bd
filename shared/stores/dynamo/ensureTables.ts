import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableId, type TableNames } from './tables';

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
      const key = TABLES[id].partitionKey;
      try {
        await client.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
      } catch (error) {
        // Another local instance sharing the store created it first.
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
    }),
  );
}

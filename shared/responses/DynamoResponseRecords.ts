import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../stores/dynamo/tables';
import type { ResponseRecord, ResponseRecords } from './StoredResponse';

const PK = TABLES.responses.partitionKey;
const TTL = TABLES.responses.ttlAttribute;

/** `response#<tenant>#<id>`; the tenant URI-encoded so a `#` in its name cannot reach another's. */
export const responseKey = (tenant: string, id: string): string => `response#${encodeURIComponent(tenant)}#${id}`;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * Stored responses in the responses table, one item each, the body as a JSON string (DynamoDB's
 * number and empty-value rules would otherwise alter it). The item expires through the table's
 * TTL; since TTL deletes lag (and dynalite has none), expiry is also checked on read and delete.
 */
export class DynamoResponseRecords implements ResponseRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(record: ResponseRecord): Promise<void> {
    await this.doc.send(new PutCommand(putResponseItem(this.tableName, record)));
  }

  async get(tenant: string, id: string): Promise<ResponseRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: responseKey(tenant, id) }, ConsistentRead: true }),
    );
    // The tenant is part of the key, but check it too: a key is cheap to get wrong in a refactor.
    if (!Item || Item.tenant !== tenant) return undefined;
    return {
      tenant: String(Item.tenant),
      id: String(Item.id),
      body: String(Item.body),
      createdAt: Number(Item.created_at),
      expiresAt: Number(Item[TTL]),
    };
  }

  async delete(tenant: string, id: string, now: number): Promise<boolean> {
    try {
      await this.doc.send(new DeleteCommand(deleteResponseItem(this.tableName, tenant, id, now)));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

export function putResponseItem(tableName: string, record: ResponseRecord): PutCommandInput {
  return {
    TableName: tableName,
    Item: {
      [PK]: responseKey(record.tenant, record.id),
      tenant: record.tenant,
      id: record.id,
      body: record.body,
      created_at: record.createdAt,
      [TTL]: record.expiresAt,
    },
  };
}

/** Deletes only a live record of this tenant: a missing or expired one fails the condition (404). */
export function deleteResponseItem(tableName: string, tenant: string, id: string, now: number): DeleteCommandInput {
  return {
    TableName: tableName,
    Key: { [PK]: responseKey(tenant, id) },
    ConditionExpression: 'attribute_exists(#pk) AND #tenant = :tenant AND #expires_at > :now',
    ExpressionAttributeNames: { '#pk': PK, '#tenant': 'tenant', '#expires_at': TTL },
    ExpressionAttributeValues: { ':tenant': tenant, ':now': now },
  };
}

import type { ResponseRecord, ResponseRecords } from './StoredResponse';
import { responseKey } from './DynamoResponseRecords';

/** The {@link ResponseRecords} contract in memory, keyed like the table: for unit tests. */
export class MemoryResponseRecords implements ResponseRecords {
  readonly records = new Map<string, ResponseRecord>();

  async put(record: ResponseRecord): Promise<void> {
    this.records.set(responseKey(record.tenant, record.id), { ...record });
  }

  async get(tenant: string, id: string): Promise<ResponseRecord | undefined> {
    const record = this.records.get(responseKey(tenant, id));
    return record && record.tenant === tenant ? { ...record } : undefined;
  }

  async delete(tenant: string, id: string, now: number): Promise<boolean> {
    const key = responseKey(tenant, id);
    const record = this.records.get(key);
    if (!record || record.tenant !== tenant || record.expiresAt <= now) return false;
    this.records.delete(key);
    return true;
  }
}

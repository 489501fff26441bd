export { deleteResponseItem, DynamoResponseRecords, putResponseItem, responseKey } from './DynamoResponseRecords';
export { MemoryResponseRecords } from './MemoryResponseRecords';
export { DEFAULT_RESPONSE_TTL_SECONDS, MAX_STORED_RESPONSE_BYTES, ResponseStore, type ResponseStoreOptions } from './ResponseStore';
export type { ResponseRecord, ResponseRecords, StoredResponse } from './StoredResponse';

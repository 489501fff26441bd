/**
 * A stored Responses API answer and what a follow-up turn needs to continue from it: the
 * conversation's input items as the model saw them (earlier turns included, instructions not)
 * and, inside `response.output`, its output items. Kept as the JSON the door wrote: the store
 * does not interpret it.
 */
export interface StoredResponse {
  response: { id: string } & Record<string, unknown>;
  input: unknown[];
}

/** One stored response as the records hold it. Times are epoch seconds. */
export interface ResponseRecord {
  tenant: string;
  id: string;
  /** The {@link StoredResponse}, as JSON. */
  body: string;
  createdAt: number;
  expiresAt: number;
}

/** Where stored responses live; every read and delete is scoped to the tenant. */
export interface ResponseRecords {
  put(record: ResponseRecord): Promise<void>;
  /** A strongly consistent read (a follow-up turn comes right after the answer). */
  get(tenant: string, id: string): Promise<ResponseRecord | undefined>;
  /** False when the tenant has no such record, or it expired before `now` (epoch seconds). */
  delete(tenant: string, id: string, now: number): Promise<boolean>;
}

/** One running total on a ledger item (the month's spend, the day's, an end user's tokens). */
export interface LedgerCounter {
  /** Short name for the expression placeholders (`#day`, `:day_cap_minus_estimate`). */
  label: string;
  /** The item attribute that holds the total. */
  attribute: string;
  /** The write is refused if it would take this counter past `cap`; without one it just counts. */
  cap?: number;
}

export interface ReserveRequest {
  /** The item's partition key. */
  key: string;
  counters: readonly LedgerCounter[];
  /** A whole number (microdollars or tokens) added to every counter; never above a counter's cap. */
  amount: number;
  /** Epoch seconds, for the table's TTL. */
  expiresAt: number;
}

/** A ledger item as plain values: counters are numbers, flags whatever was set. */
export type LedgerItem = Readonly<Record<string, unknown>>;

export type ReserveOutcome =
  /** Reserved; `item` is the item after the write. */
  | { reserved: true; item: LedgerItem }
  /** A cap would be passed and nothing was written; `item` is the item as it was, when known. */
  | { reserved: false; item?: LedgerItem };

/**
 * The spend store. Every method is ONE single-item write, so the guarantees hold across the
 * whole fleet without transactions. Errors other than a refused reservation are thrown as they
 * come: the caller decides between failing closed and failing open.
 */
export interface SpendLedger {
  /** Adds `amount` to every counter iff no capped counter passes its cap. */
  reserve(request: ReserveRequest): Promise<ReserveOutcome>;
  /** Adds `delta` (possibly negative) to the counters, unconditionally; returns the item after. */
  adjust(key: string, counters: readonly LedgerCounter[], delta: number): Promise<LedgerItem>;
  /** Sets `flag` if it is not set yet: true for the one caller across the fleet that set it. */
  setFlagOnce(key: string, flag: string, value: number): Promise<boolean>;
}

/** Cents, except below a cent, where a request's cost lives: then four decimals. */
export const usd = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `$${value.toFixed(value !== 0 && Math.abs(value) < 0.01 ? 4 : 2)}`;
export const ms = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${Math.round(value)} ms`);
export const percent = (share: number | null | undefined) => (share === null || share === undefined ? '—' : `${Math.round(share * 100)} %`);
export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const seconds = (epochSeconds: number | null | undefined) => (epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '—');

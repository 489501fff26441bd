/**
 * The admin API as the page calls it. The key lives in sessionStorage only: it is gone when the
 * tab closes, is never written to localStorage or a cookie, and is sent only to this origin.
 */
const KEY_ITEM = 'breakwater.adminKey';

export const adminKey = {
  get: (): string | null => sessionStorage.getItem(KEY_ITEM),
  set: (key: string) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

/** The gateway's root, whatever stage prefix API Gateway puts before `/console`. */
const root = location.pathname.replace(/\/console\/?$/, '');

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const key = adminKey.get();
  const response = await fetch(`${root}/v1/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${key ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok) throw new ApiError(response.status, json.error?.code ?? 'error', json.error?.message ?? `HTTP ${response.status}`);
  return json as T;
}

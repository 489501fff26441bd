import type { ApprovalGate, HeldCall, StaleResponseStore, StoredToolResponse, ToolCall, ToolCaller, UserTokenSource, ConnectionRef } from '../../../shared/tools/types';

/** An in-memory stale store (the limits part has the DynamoDB one). */
export function memoryStaleStore(): StaleResponseStore & { entries: Map<string, StoredToolResponse> } {
  const entries = new Map<string, StoredToolResponse>();
  return {
    entries,
    put: async (key, response) => {
      entries.set(key, response);
    },
    get: async (key) => entries.get(key),
  };
}

/** An approvals gate that holds every call it is given, and remembers them. */
export function recordingApprovals(now: () => number): ApprovalGate & { held: Array<{ call: ToolCall; caller: ToolCaller; rule: { method: string; path: string } }> } {
  const held: Array<{ call: ToolCall; caller: ToolCaller; rule: { method: string; path: string } }> = [];
  return {
    held,
    hold: async (call, caller, rule): Promise<HeldCall> => {
      held.push({ call, caller, rule });
      return { approvalId: `apr_test_${held.length}`, expiresAt: now() + 86_400_000 };
    },
  };
}

/** A user token source with a scripted token, counting refreshes. */
export function fakeUserTokens(options: { token: string; refreshed: string; scopes?: string[] }): UserTokenSource & { refreshes: string[]; asked: ConnectionRef[] } {
  const refreshes: string[] = [];
  const asked: ConnectionRef[] = [];
  return {
    refreshes,
    asked,
    accessToken: async (ref) => {
      asked.push(ref);
      return options.token;
    },
    refreshAfterUnauthorized: async (_ref, rejected) => {
      refreshes.push(rejected);
      return options.refreshed;
    },
    grantedScopes: async () => options.scopes ?? [],
  };
}

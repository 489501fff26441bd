import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { mcpToolCall, mcpToolTarget } from '../../../shared/mcp/mcpToolCall';
import { ToolCallDispatcher } from '../../../shared/mcp/ToolCallDispatcher';
import type { ToolCall, ToolCallExecutor, ToolCaller } from '../../../shared/tools/types';

describe('mcpToolCall', () => {
  it('stores an upstream tool call as a held ToolCall and reads it back unchanged', () => {
    const target = { server: 'files', tool: 'delete_file', args: { path: '/srv/a b.txt', force: true } };
    const call = mcpToolCall(target, { endUser: 'alice', priority: 'interactive' });
    assert.deepEqual([call.service, call.method, call.path], ['mcp:files', 'POST', '/tools/delete_file']);
    assert.equal(call.endUser, 'alice');
    assert.deepEqual(mcpToolTarget(call), target);
  });

  it('reads nothing out of a REST call', () => {
    const rest: ToolCall = { service: 'crm', method: 'POST', path: '/tools/x', query: '', headers: {}, body: Buffer.from('{}'), priority: 'interactive' };
    assert.equal(mcpToolTarget(rest), undefined);
  });
});

describe('ToolCallDispatcher', () => {
  it('runs an approved MCP tool call on the MCP side and any other call on the tool proxy', async () => {
    const ran: string[] = [];
    const executor = (name: string): ToolCallExecutor => ({
      execute: async () => {
        ran.push(name);
        return { statusCode: 200, headers: {}, body: Readable.from([]) };
      },
    });
    const dispatcher = new ToolCallDispatcher({ mcp: () => executor('mcp'), proxy: () => executor('proxy') });
    const caller = {} as ToolCaller;
    const deadline = { remainingMs: () => 1_000 } as never;
    await dispatcher.execute(mcpToolCall({ server: 'files', tool: 'rm', args: {} }, { priority: 'interactive' }), caller, deadline);
    await dispatcher.execute({ service: 'crm', method: 'GET', path: '/v1/x', query: '', headers: {}, priority: 'interactive' }, caller, deadline);
    assert.deepEqual(ran, ['mcp', 'proxy']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiPath } from '../../../shared/api/apiPath';

describe('apiPath: the path the API routes on, behind a custom domain base path or not', () => {
  const cases: Array<[string, Parameters<typeof apiPath>[0], string]> = [
    ['execute-api, greedy resource', { path: '/v1/chat/completions', resource: '/{proxy+}', pathParameters: { proxy: 'v1/chat/completions' } }, '/v1/chat/completions'],
    ['base path /llm, greedy resource', { path: '/llm/v1/chat/completions', resource: '/{proxy+}', pathParameters: { proxy: 'v1/chat/completions' } }, '/v1/chat/completions'],
    ['base path /llm, explicit resource', { path: '/llm/v1/chat/completions', resource: '/v1/chat/completions', pathParameters: null }, '/v1/chat/completions'],
    ['two-segment base path, resource with a parameter', { path: '/ai/prod/v1/tasks/task_1', resource: '/v1/tasks/{id}', pathParameters: { id: 'task_1' } }, '/v1/tasks/task_1'],
    [
      'base path, tool route: encoded segments kept as sent',
      { path: '/llm/v1/tools/crm/v1/a%2e%2e/b', resource: '/v1/tools/{service}/{proxy+}', pathParameters: { service: 'crm', proxy: 'v1/a../b' } },
      '/v1/tools/crm/v1/a%2e%2e/b',
    ],
    [
      'base path, tool route: a %2F that API Gateway decoded in the parameter stays one segment of the path',
      {
        path: '/llm/v1/tools/gitlab/api/v4/projects/group%2Fsub%2Fproject/issues',
        resource: '/v1/tools/{service}/{proxy+}',
        pathParameters: { service: 'gitlab', proxy: 'api/v4/projects/group/sub/project/issues' },
      },
      '/v1/tools/gitlab/api/v4/projects/group%2Fsub%2Fproject/issues',
    ],
    [
      'two-segment base path, greedy root resource, decoded %2F in the parameter',
      { path: '/ai/prod/v1/tools/npm/@scope%2fname', resource: '/{proxy+}', pathParameters: { proxy: 'v1/tools/npm/@scope/name' } },
      '/v1/tools/npm/@scope%2fname',
    ],
    ['trailing slash kept', { path: '/llm/v1/tools/crm/items/', resource: '/v1/tools/{service}/{proxy+}', pathParameters: { service: 'crm', proxy: 'items/' } }, '/v1/tools/crm/items/'],
    ['root resource behind a base path', { path: '/llm', resource: '/', pathParameters: null }, '/'],
    ['no resource: the path as it is', { path: '/llm/v1/models', resource: '', pathParameters: null }, '/llm/v1/models'],
  ];
  for (const [name, event, expected] of cases) {
    it(name, () => assert.equal(apiPath(event), expected));
  }
});

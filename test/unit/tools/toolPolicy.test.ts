import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import type { KeyPolicy } from '../../../shared/keys/keyPolicy';
import { matchesPathPattern, splitPath } from '../../../shared/tools/pathPattern';
import { checkToolPolicy } from '../../../shared/tools/toolPolicy';

const call = (service: string, method: string, path: string) => ({ service, method, segments: splitPath(path) });
const denied = (policies: Array<KeyPolicy | undefined>, input: ReturnType<typeof call>) =>
  assert.throws(() => checkToolPolicy(policies, input), (error) => isGatewayError(error) && error.code === 'tool_not_allowed' && error.status === 403);

describe('path patterns', () => {
  it('* matches one segment, ** any number', () => {
    assert.equal(matchesPathPattern('/v1/customers/*', splitPath('/v1/customers/cus_1')), true);
    assert.equal(matchesPathPattern('/v1/customers/*', splitPath('/v1/customers/cus_1/notes')), false);
    assert.equal(matchesPathPattern('/v1/customers/*', splitPath('/v1/customers')), false);
    assert.equal(matchesPathPattern('/v1/**', splitPath('/v1')), true);
    assert.equal(matchesPathPattern('/v1/**', splitPath('/v1/a/b/c')), true);
    assert.equal(matchesPathPattern('/v1/**/notes', splitPath('/v1/a/b/notes')), true);
    assert.equal(matchesPathPattern('/v1/**/notes', splitPath('/v1/a/b/other')), false);
    assert.equal(matchesPathPattern('/v1/refunds', splitPath('/v1/refunds/')), true);
  });
});

describe('checkToolPolicy', () => {
  it('lets everything through a policy that says nothing about tools', () => {
    assert.equal(checkToolPolicy([{}], call('stripe', 'POST', '/v1/refunds')), undefined);
  });

  it('refuses a service outside allowed_services', () => {
    denied([{ allowed_services: ['weather'] }], call('stripe', 'GET', '/v1/charges'));
  });

  it('a read-only key gets GET and HEAD only', () => {
    const readOnly: KeyPolicy = { allowed_methods: ['GET', 'HEAD'] };
    checkToolPolicy([readOnly], call('stripe', 'GET', '/v1/charges'));
    checkToolPolicy([readOnly], call('stripe', 'HEAD', '/v1/charges'));
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) denied([readOnly], call('stripe', method, '/v1/charges'));
  });

  it('service_permissions narrow methods and paths, and name the matching pattern', () => {
    const policy: KeyPolicy = { service_permissions: { stripe: { methods: ['GET', 'POST'], paths: ['/v1/customers/*', '/v1/charges/**'] } } };
    assert.equal(checkToolPolicy([policy], call('stripe', 'GET', '/v1/customers/cus_1')), '/v1/customers/*');
    assert.equal(checkToolPolicy([policy], call('stripe', 'POST', '/v1/charges/ch_1/capture')), '/v1/charges/**');
    denied([policy], call('stripe', 'DELETE', '/v1/customers/cus_1'));
    denied([policy], call('stripe', 'POST', '/v1/refunds'));
    // A service without an entry is governed by the lists only.
    assert.equal(checkToolPolicy([policy], call('weather', 'GET', '/forecast')), undefined);
  });

  it('every policy given must allow the call (tenant and key)', () => {
    const tenant: KeyPolicy = {};
    const key: KeyPolicy = { service_permissions: { stripe: { paths: ['/v1/customers/**'] } } };
    checkToolPolicy([tenant, key], call('stripe', 'GET', '/v1/customers/cus_1'));
    denied([tenant, key], call('stripe', 'GET', '/v1/refunds'));
  });
});

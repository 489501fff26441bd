import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { checkToolPath, toolUrl } from '../../../shared/tools/safePath';

const rejected = (raw: string) => {
  assert.throws(
    () => toolUrl('https://api.example.com/v1', checkToolPath(raw), ''),
    (error) => isGatewayError(error) && error.code === 'tool_path_rejected' && error.status === 400,
    `expected ${JSON.stringify(raw)} to be refused`,
  );
};

describe('checkToolPath: traversal out of the base path is refused in every encoding', () => {
  const attacks: Array<[string, string]> = [
    ['plain ..', '/customers/../admin'],
    ['leading ..', '/../admin'],
    ['trailing ..', '/customers/..'],
    ['single dot', '/./customers'],
    ['%2e%2e lower', '/customers/%2e%2e/admin'],
    ['%2E%2E upper', '/customers/%2E%2E/admin'],
    ['mixed .%2e', '/customers/.%2e/admin'],
    ['mixed %2e.', '/customers/%2e./admin'],
    ['double-encoded %252e%252e', '/customers/%252e%252e/admin'],
    ['triple-encoded %25252e%25252e', '/customers/%25252e%25252e/admin'],
    ['encoded slash %2f', '/customers%2f..%2fadmin'],
    ['encoded slash %2F alone', '/a%2Fb'],
    ['double-encoded slash %252f', '/customers%252f..%252fadmin'],
    ['backslash', '/customers\\..\\admin'],
    ['encoded backslash %5c', '/customers%5c..%5cadmin'],
    ['double-encoded backslash %255c', '/customers%255c..%255cadmin'],
    ['protocol-relative //host', '//evil.example/steal'],
    ['empty segment', '/customers//admin'],
    ['..; tomcat parameter', '/customers/..;/admin'],
    ['%2e%2e; parameter', '/customers/%2e%2e;x=1/admin'],
    ['overlong UTF-8 dot %c0%ae', '/customers/%c0%ae%c0%ae/admin'],
    ['full-width dots', '/customers/%EF%BC%8E%EF%BC%8E/admin'],
    ['NUL byte', '/customers/%00/admin'],
    ['newline', '/customers/%0d%0aX-Injected:1'],
    ['stray percent', '/customers/%zz'],
    ['not rooted', 'customers'],
  ];
  for (const [name, raw] of attacks) it(`refuses ${name}: ${raw}`, () => rejected(raw));

  it('accepts ordinary paths and keeps their encoding', () => {
    const checked = checkToolPath('/v1/customers/cus%20123/notes.txt');
    assert.deepEqual(checked.segments, ['v1', 'customers', 'cus 123', 'notes.txt']);
    const url = toolUrl('https://api.example.com/base/', checked, 'a=1&b=%20x');
    assert.equal(url.href, 'https://api.example.com/base/v1/customers/cus%20123/notes.txt?a=1&b=%20x');
  });

  it('accepts dots inside names, a trailing slash and the service root', () => {
    assert.deepEqual(checkToolPath('/files/..hidden/a..b/').segments, ['files', '..hidden', 'a..b']);
    assert.equal(toolUrl('https://api.example.com/v1', checkToolPath(''), '').href, 'https://api.example.com/v1');
    assert.equal(toolUrl('https://api.example.com/v1', checkToolPath('/items/'), '').href, 'https://api.example.com/v1/items/');
  });

  it('percent-encodes a decoded ? or # so it never starts a query or fragment', () => {
    const url = toolUrl('https://api.example.com', checkToolPath('/a?b=1#c'), '');
    assert.equal(url.pathname, '/a%3Fb=1%23c');
    assert.equal(url.search, '');
    assert.equal(url.origin, 'https://api.example.com');
  });
});

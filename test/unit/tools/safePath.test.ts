import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { checkToolPath, toolUrl, type ToolPathOptions } from '../../../shared/tools/safePath';

const rejected = (raw: string, options: ToolPathOptions = {}) => {
  assert.throws(
    () => toolUrl('https://api.example.com/v1', checkToolPath(raw, options), ''),
    (error) => isGatewayError(error) && error.code === 'tool_path_rejected' && error.status === 400,
    `expected ${JSON.stringify(raw)} to be refused`,
  );
};

/** Traversal attempts; those marked `true` are no attack once a service allows encoded slashes. */
const attacks: Array<[string, string, boolean?]> = [
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
  ['encoded slash %2F alone', '/a%2Fb', true],
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

describe('checkToolPath: traversal out of the base path is refused in every encoding', () => {
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

describe('checkToolPath with allow_encoded_slashes: %2F inside a segment is relayed, every other trick still refused', () => {
  const on = { allowEncodedSlashes: true };

  for (const [name, raw, allowedWhenOn] of attacks) {
    if (!allowedWhenOn) it(`still refuses ${name}: ${raw}`, () => rejected(raw, on));
  }

  const stillRefused: Array<[string, string]> = [
    ['..%2f climbing inside a segment', '/projects/..%2fadmin'],
    ['%2f.. climbing inside a segment', '/projects/group%2F..'],
    ['.%2f', '/projects/.%2Fgroup'],
    ['%2e%2e%2f', '/projects/%2e%2e%2Fadmin'],
    ['double-encoded slash %252f', '/projects/group%252fproject'],
    ['double-encoded slash %252F', '/projects/group%252Fproject'],
    ['triple-encoded slash %25252f', '/projects/group%25252fproject'],
    ['slash spelled %25%32%66', '/projects/group%25%32%66project'],
    ['leading encoded slash (an absolute path once decoded)', '/projects/%2Fetc%2Fpasswd'],
    ['trailing encoded slash', '/projects/group%2F'],
    ['two encoded slashes in a row (// once decoded)', '/projects/group%2F%2Fproject'],
    ['encoded slash before a backslash', '/projects/group%2F%5c..'],
    ['..; after an encoded slash', '/projects/group%2F..;x/admin'],
    ['full-width dots after an encoded slash', '/projects/group%2F%EF%BC%8E%EF%BC%8E'],
    ['overlong dot after an encoded slash', '/projects/group%2F%c0%ae%c0%ae'],
    ['control character after an encoded slash', '/projects/group%2F%0aX'],
    ['stray percent after an encoded slash', '/projects/group%2F%zz'],
  ];
  for (const [name, raw] of stillRefused) it(`refuses ${name}: ${raw}`, () => rejected(raw, on));

  it('accepts GitLab, npm and S3-style ids and keeps them as one segment, still encoded', () => {
    const gitlab = checkToolPath('/api/v4/projects/group%2Fsubgroup%2Fproject/issues', on);
    assert.deepEqual(gitlab.segments, ['api', 'v4', 'projects', 'group%2Fsubgroup%2Fproject', 'issues']);
    assert.equal(
      toolUrl('https://gitlab.example.com', gitlab, 'state=opened').href,
      'https://gitlab.example.com/api/v4/projects/group%2Fsubgroup%2Fproject/issues?state=opened',
    );
    // Lower-case as the client sent it on the wire; the segment spells it %2F for patterns.
    const npm = checkToolPath('/@scope%2fname', on);
    assert.deepEqual(npm.segments, ['@scope%2Fname']);
    assert.equal(toolUrl('https://registry.npmjs.org', npm, '').pathname, '/@scope%2fname');
    const s3 = checkToolPath('/bucket/photos%2F2024%2Fcat%20one.jpg', on);
    assert.deepEqual(s3.segments, ['bucket', 'photos%2F2024%2Fcat one.jpg']);
    assert.equal(toolUrl('https://s3.example.com', s3, '').pathname, '/bucket/photos%2F2024%2Fcat%20one.jpg');
  });

  it('accepts dotted names between encoded slashes', () => {
    assert.deepEqual(checkToolPath('/files/a.b%2F..hidden%2Fv1.2', on).segments, ['files', 'a.b%2F..hidden%2Fv1.2']);
  });

  it('is off unless asked: the same GitLab path is refused by default', () => {
    rejected('/api/v4/projects/group%2Fproject/issues');
    rejected('/api/v4/projects/group%2Fproject/issues', { allowEncodedSlashes: false });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { matchHighStakes } from '../../../shared/tools/highStakes';
import { matchesPathPattern } from '../../../shared/tools/pathPattern';
import { checkToolPath } from '../../../shared/tools/safePath';
import type { HighStakesRule } from '../../../shared/tools/serviceConfig';
import { checkToolPolicy } from '../../../shared/tools/toolPolicy';

/** Segments as the tool proxy hands them to patterns on a service with `allow_encoded_slashes`. */
const segmentsOf = (raw: string) => checkToolPath(raw, { allowEncodedSlashes: true }).segments;

describe('path patterns on a service that allows encoded slashes', () => {
  const issues = segmentsOf('/api/v4/projects/group%2Fsubgroup%2Fproject/issues');

  it('an encoded slash stays inside its segment: `*` matches the whole id', () => {
    assert.equal(matchesPathPattern('/api/v4/projects/*/issues', issues), true);
    assert.equal(matchesPathPattern('/api/v4/projects/*', segmentsOf('/api/v4/projects/group%2fproject')), true);
  });

  it('the id is never split into several segments for a pattern', () => {
    assert.equal(matchesPathPattern('/api/v4/projects/*/*/issues', issues), false);
    assert.equal(matchesPathPattern('/api/v4/projects/group/**', issues), false);
    assert.equal(matchesPathPattern('/api/v4/projects/*/*/*/issues', issues), false);
  });

  it('`**` spans it like any other segment', () => {
    assert.equal(matchesPathPattern('/api/v4/**', issues), true);
    assert.equal(matchesPathPattern('/api/v4/**/issues', issues), true);
  });

  it('a pattern names one such id literally with %2F or %2f', () => {
    assert.equal(matchesPathPattern('/api/v4/projects/group%2Fsubgroup%2Fproject/*', issues), true);
    assert.equal(matchesPathPattern('/api/v4/projects/group%2fsubgroup%2fproject/*', issues), true);
    assert.equal(matchesPathPattern('/api/v4/projects/group%2Fother%2Fproject/*', issues), false);
  });

  it('a key limited to one project cannot reach another through an encoded slash', () => {
    const policy = { service_permissions: { gitlab: { paths: ['/api/v4/projects/mine%2Fapp/**'] } } };
    const call = (raw: string) => ({ service: 'gitlab', method: 'GET', segments: segmentsOf(raw) });
    assert.equal(checkToolPolicy([policy], call('/api/v4/projects/mine%2Fapp/issues')), '/api/v4/projects/mine%2Fapp/**');
    assert.throws(
      () => checkToolPolicy([policy], call('/api/v4/projects/mine%2Fapp%2Fother/issues')),
      (error) => isGatewayError(error) && error.code === 'tool_not_allowed',
    );
    assert.throws(
      () => checkToolPolicy([policy], call('/api/v4/projects/theirs%2Fapp/issues')),
      (error) => isGatewayError(error) && error.code === 'tool_not_allowed',
    );
  });

  it('high-stakes rules match the same way', () => {
    const rules: HighStakesRule[] = [{ method: 'DELETE', path: '/api/v4/projects/*' }];
    assert.equal(matchHighStakes(rules, { method: 'DELETE', segments: segmentsOf('/api/v4/projects/group%2Fproject') })?.path, '/api/v4/projects/*');
    // Read as two segments it would slip past `/projects/*`; it is one.
    assert.equal(matchHighStakes(rules, { method: 'DELETE', segments: segmentsOf('/api/v4/projects/group%2Fsub%2Fproject') })?.path, '/api/v4/projects/*');
  });
});

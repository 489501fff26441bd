import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../shared/cache';
import { GatewayError } from '../../../shared/errors';
import {
  embeddingsRequestSchema,
  MAX_EMBEDDING_INPUTS,
  MAX_EMBEDDING_TOKENS_PER_REQUEST,
  MAX_TOKENS_PER_EMBEDDING_INPUT,
  validateBody,
  checkEmbeddingsInputBounds,
} from '../../../shared/gateway';
import { exceedsJsonDepth } from '../../../shared/gateway/jsonDepth';

const validate = (input: unknown) => validateBody(embeddingsRequestSchema, { model: 'e', input }, checkEmbeddingsInputBounds);

function refusal(input: unknown): GatewayError {
  try {
    validate(input);
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail('expected a 400');
}

describe('embeddings input bounds', () => {
  it('accepts every shape at its limits', () => {
    assert.doesNotThrow(() => validate('hello'));
    assert.doesNotThrow(() => validate(Array.from({ length: MAX_EMBEDDING_INPUTS }, () => 'x')));
    assert.doesNotThrow(() => validate(Array.from({ length: MAX_TOKENS_PER_EMBEDDING_INPUT }, () => 1)));
    const perInput = Math.floor(MAX_EMBEDDING_TOKENS_PER_REQUEST / MAX_EMBEDDING_INPUTS);
    assert.doesNotThrow(() => validate(Array.from({ length: MAX_EMBEDDING_INPUTS }, () => Array.from({ length: perInput }, () => 7))));
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ['2,049 strings', Array.from({ length: 2049 }, () => 'x'), /2049 inputs; the limit is 2048/],
    ['2,049 token arrays', Array.from({ length: 2049 }, () => [1]), /2049 inputs/],
    ['8,193 tokens in one flat input', Array.from({ length: 8193 }, () => 1), /8193 tokens in one input/],
    ['8,193 tokens in one of several inputs', [[1], Array.from({ length: 8193 }, () => 1)], /8193 tokens in one input/],
    ['300,001 tokens in all', Array.from({ length: 37 }, () => Array.from({ length: 8_109 }, () => 1)), /300033 tokens in all; the limit is 300000/],
  ];
  for (const [name, input, message] of cases) {
    it(`refuses ${name} with 400 invalid_request naming input`, () => {
      const error = refusal(input);
      assert.equal(error.code, 'invalid_request');
      assert.equal(error.details?.param, 'input');
      assert.match(error.message, message);
    });
  }

  it('still refuses bad types once the sizes pass', () => {
    assert.equal(refusal([1, 'a']).details?.param, 'input');
    assert.equal(refusal([[1.5]]).details?.param, 'input');
    assert.equal(refusal([]).details?.param, 'input');
  });

  // Regression guard with a generous bound (measured: ~1 ms; before the fix, ~1.3 s of zod union
  // plus the depth walk, and the cache key's replacer after it).
  it('refuses 1.9 million token ids without walking them', () => {
    const input = Array.from({ length: 1_900_000 }, (_, i) => i % 100);
    const started = performance.now();
    assert.equal(refusal(input).details?.param, 'input');
    assert.ok(performance.now() - started < 100, 'the refusal walked the array');
  });
});

describe('linear walks over large arrays', () => {
  it('exceedsJsonDepth counts nesting through arrays and objects alike', () => {
    assert.equal(exceedsJsonDepth({ a: [[{ b: [] }]] }, 5), false);
    assert.equal(exceedsJsonDepth({ a: [[{ b: [] }]] }, 4), true);
    assert.equal(exceedsJsonDepth(5, 0), false);
  });

  it('canonicalJson reuses arrays of scalars and sorts keys inside arrays', () => {
    assert.equal(canonicalJson({ b: [1, 'x', null, { d: 1, c: [true] }], a: 0 }), '{"a":0,"b":[1,"x",null,{"c":[true],"d":1}]}');
  });
});

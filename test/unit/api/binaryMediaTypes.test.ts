import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Request } from '@middy/core';
import { isBinaryMediaType } from '../../../shared/api/binaryMediaTypes';
import { bodySizeLimit, jsonDepthLimit } from '../../../shared/middleware';

describe('isBinaryMediaType: what API Gateway base64-encodes', () => {
  const cases: Array<[contentType: string | undefined, binary: boolean]> = [
    ['application/octet-stream', true],
    ['image/png', true],
    ['IMAGE/JPEG', true],
    ['audio/mpeg', true],
    ['video/mp4', true],
    ['application/pdf', true],
    ['application/zip', true],
    ['multipart/form-data; boundary=----x', true],
    ['application/json', false],
    ['application/json; charset=utf-8', false],
    ['text/plain', false],
    ['text/event-stream', false],
    ['application/x-www-form-urlencoded', false],
    ['imagery/png', false],
    ['image', false],
    [undefined, false],
  ];
  for (const [contentType, binary] of cases) {
    it(`${contentType ?? '(none)'} → ${binary ? 'base64' : 'text'}`, () => assert.equal(isBinaryMediaType(contentType), binary));
  }
});

type Before = (request: Request<APIGatewayProxyEvent>) => unknown;
const run = (before: Before, body: string, isBase64Encoded: boolean) =>
  before({ event: { body, isBase64Encoded } as APIGatewayProxyEvent } as Request<APIGatewayProxyEvent>);

describe('body limits on base64 bodies (API Gateway binary media types)', () => {
  it('counts the decoded bytes exactly, padding excluded: 100 bytes pass a 100-byte limit, 101 do not', () => {
    const limit = bodySizeLimit({ maxBytes: 100 }).before as Before;
    // 100 bytes encode to 136 characters ending in '=': a 4/3 estimate would say 102.
    assert.doesNotThrow(() => run(limit, Buffer.alloc(100, 0xff).toString('base64'), true));
    assert.throws(() => run(limit, Buffer.alloc(101, 0xff).toString('base64'), true), /101 bytes; the limit is 100/);
    // The same bytes as UTF-8 text are counted as such.
    assert.throws(() => run(limit, 'é'.repeat(51), false), /102 bytes/);
  });

  it('still scans a base64 JSON body for depth: the doors parse it all the same', () => {
    const depth = jsonDepthLimit({ maxDepth: 64 }).before as Before;
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    assert.throws(() => run(depth, Buffer.from(deep).toString('base64'), true), /deeper than 64/);
    assert.doesNotThrow(() => run(depth, Buffer.from('[[1]]').toString('base64'), true));
  });
});

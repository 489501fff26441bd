import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTaskId, randomTaskId, taskIdFor } from '../../../shared/tasks';

describe('task ids', () => {
  it('derives the same id from the same tenant and Idempotency-Key', () => {
    const id = taskIdFor('acme', 'order-42');
    assert.equal(id, taskIdFor('acme', 'order-42'));
    assert.match(id, /^task_[0-9a-f]{32}$/);
  });

  it("gives another tenant's same key another id", () => {
    assert.notEqual(taskIdFor('acme', 'order-42'), taskIdFor('globex', 'order-42'));
  });

  it('cannot be made to collide by moving a separator between tenant and key', () => {
    assert.notEqual(taskIdFor('a#', 'b'), taskIdFor('a', '#b'));
  });

  it('makes random ids in the same shape, and recognises only that shape', () => {
    const id = randomTaskId();
    assert.equal(isTaskId(id), true);
    assert.notEqual(id, randomTaskId());
    assert.equal(isTaskId('task_123'), false);
    assert.equal(isTaskId(`${id}x`), false);
    assert.equal(isTaskId('../task_00000000000000000000000000000000'), false);
  });
});

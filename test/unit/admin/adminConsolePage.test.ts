import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { consoleRoutes } from '../../../shared/api/admin/consoleRoutes';

const request = { event: {} as APIGatewayProxyEvent, context: {} as Context, requestId: 'req-1', params: {} };

describe('admin: the console page', () => {
  it('inlines the script, escaped, and its CSP allows exactly that script', async () => {
    const routes = consoleRoutes({ script: async () => 'console.log("</script><b>")' });
    const page = await routes['/console']!.GET!(request);
    assert.equal(page.statusCode, 200);
    const body = page.body as string;
    const inline = /<script type="module">([\s\S]*)<\/script>/.exec(body)![1]!;
    assert.equal(inline, 'console.log("<\\/script><b>")', 'a </script> inside the bundle cannot end the element');
    const hash = createHash('sha256').update(inline).digest('base64');
    assert.match(page.headers['content-security-policy']!, new RegExp(`script-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`));
    assert.equal(page.headers['x-request-id'], 'req-1');
  });

  it('without a bundle it is a clear 404 that says how to build one, and is asked again next time', async () => {
    let asked = 0;
    const routes = consoleRoutes({ script: async () => (++asked === 1 ? undefined : 'ok()') });
    const missing = await routes['/console']!.GET!(request);
    assert.equal(missing.statusCode, 404);
    assert.match(JSON.parse(missing.body as string).error.message, /npm run build:console/);
    assert.equal((await routes['/console']!.GET!(request)).statusCode, 200);
    await routes['/console']!.GET!(request);
    assert.equal(asked, 2, 'a built page is kept');
  });
});

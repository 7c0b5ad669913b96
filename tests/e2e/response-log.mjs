// The browser suite's side of the API contract check (make api-contract):
// every /api response a test page receives is appended, as one JSON line
// {"method", "path", "status", "content_type", "body"}, to the file named by
// $WARDD_RESPONSE_LOG (run.sh sets build/responses-browser.jsonl), which
// tests/api/validate-responses.mjs checks against docs/openapi.json. An
// event stream's body is endless: only its status and type are recorded.
// Nothing happens when the variable is unset. A page a test has given its
// own answers (page.route, marked by markMocked) is not wardd speaking: from
// that moment its responses are left out, real or not.

import { appendFileSync } from 'node:fs';

const mockedPages = new WeakSet();

export function markMocked(page) {
  mockedPages.add(page);
}

function fromMockedPage(res) {
  try {
    return mockedPages.has(res.frame().page());
  } catch {
    return false; // a service worker's response has no frame
  }
}

export function recordApiResponses(context) {
  const file = process.env.WARDD_RESPONSE_LOG;
  if (!file) return;
  context.on('response', async (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/') || fromMockedPage(res)) return;
    const method = res.request().method();
    const contentType = (await res.headerValue('content-type').catch(() => null)) || '';
    let body = '';
    if (method !== 'HEAD' && !contentType.startsWith('text/event-stream')) {
      try {
        body = (await res.body()).toString('utf8');
      } catch {
        return; // the page went away before the body arrived: nothing to check
      }
    }
    appendFileSync(file, `${JSON.stringify({ method, path: url.pathname + url.search, status: res.status(), content_type: contentType, body })}\n`);
  });
}

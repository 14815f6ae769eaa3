// Drives an example org's Trusted Origins API with Okta's Node SDK (@okta/okta-sdk-nodejs,
// pinned in package.json and package-lock.json), unmodified: every operation, paging by the SDK's
// own Collection (which follows `Link: rel="next"` as given), filters, allowedOktaApps, errors
// parsed into the SDK's OktaApiError, and a 429 the SDK backs off from.
//
// Usage: node okta_node.js ORG_URL API_TOKEN SPARE_API_TOKEN
// Prints `ok <check>` per check; exits 1 with `FAIL <check>: <why>` at the first that fails.
// SPARE_API_TOKEN's budget is spent on purpose, so that the SDK meets a 429.
'use strict';

const okta = require('@okta/okta-sdk-nodejs');
const sdkVersion = require('@okta/okta-sdk-nodejs/package.json').version;

const [ORG, TOKEN, SPARE] = process.argv.slice(2);
const PID = String(process.pid);
const PREFIX = `node-${PID}-`;

function check(name, condition, why) {
  if (!condition) {
    console.log(`FAIL ${name}: ${why instanceof Error ? why.message : JSON.stringify(why)}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

// The SDK's default request executor retries a 429 twice after the server's reset time.
const client = (token) => new okta.Client({ orgUrl: ORG, token });

async function failure(promise) {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

function write(name, origin, scopes) {
  return { trustedOrigin: { name: PREFIX + name, origin, scopes } };
}

async function main() {
  check('sdk version', sdkVersion === '8.1.0', sdkVersion);
  const api = client(TOKEN).trustedOriginApi;

  const created = await api.createTrustedOrigin(write('Portal', `https://portal-${PID}.example.com`, [
    { type: 'REDIRECT' }, { type: 'IFRAME_EMBED', allowedOktaApps: ['OKTA_ENDUSER'] }, { type: 'CORS' },
  ]));
  check('create', created.id, created);
  check("create keeps the scopes' order", created.scopes.map((s) => s.type).join() === 'REDIRECT,IFRAME_EMBED,CORS', created.scopes);
  check('allowedOktaApps round trip on create', JSON.stringify(created.scopes[1].allowedOktaApps) === '["OKTA_ENDUSER"]', created.scopes);
  check("dates are Okta's .SSSZ", created.created instanceof Date && !isNaN(created.created), created.created);
  check('absolute _links', String(created._links.self.href).startsWith(`${ORG}/api/v1/trustedOrigins/`), created._links);

  const got = await api.getTrustedOrigin({ trustedOriginId: created.id });
  check('get', got.id === created.id && got.name === PREFIX + 'Portal', got);
  check('allowedOktaApps round trip on get', JSON.stringify(got.scopes[1].allowedOktaApps) === '["OKTA_ENDUSER"]', got.scopes);

  const replaced = await api.replaceTrustedOrigin({
    trustedOriginId: created.id,
    trustedOrigin: { name: PREFIX + 'Portal', origin: `https://portal-${PID}.example.com`, scopes: [{ type: 'IFRAME_EMBED', allowedOktaApps: [] }] },
  });
  check('replace', replaced.scopes.length === 1, replaced.scopes);
  check('allowedOktaApps emptied', JSON.stringify(replaced.scopes[0].allowedOktaApps || []) === '[]', replaced.scopes);

  const deactivated = await api.deactivateTrustedOrigin({ trustedOriginId: created.id });
  check('deactivate', deactivated.status === 'INACTIVE', deactivated.status);
  const activated = await api.activateTrustedOrigin({ trustedOriginId: created.id });
  check('activate', activated.status === 'ACTIVE', activated.status);

  const ids = [created.id];
  for (let n = 0; n < 7; n++) {
    const made = await api.createTrustedOrigin(write(`Partner ${n}`, `https://partner${n}-${PID}.node.example`, [{ type: 'CORS' }]));
    ids.push(made.id);
  }
  check('create partners', ids.length === 8, ids);

  // Paging: the SDK's Collection follows the absolute `next` links, three a page.
  // The requests it sends are counted through the request executor's own `request` event.
  const pager = client(TOKEN);
  const pages = [];
  pager.requestExecutor.on('request', (request) => pages.push(request.url));
  const names = [];
  const collection = await pager.trustedOriginApi.listTrustedOrigins({ q: PREFIX, limit: 3 });
  for await (const origin of collection) {
    names.push(origin.name);
  }
  check('paging follows Link across 3 pages',
    names.length === 8 && pages.length === 3 && pages.slice(1).every((url) => url.startsWith(`${ORG}/api/v1/trustedOrigins?`) && url.includes('after=')),
    { names, pages });

  const list = async (filter) => {
    const found = [];
    for await (const origin of await api.listTrustedOrigins({ filter })) found.push(origin.id);
    return found.sort();
  };
  check('filter with or and parentheses',
    JSON.stringify(await list(`(id eq "${ids[1]}" or id eq "${ids[2]}")`)) === JSON.stringify(ids.slice(1, 3).sort()), ids);
  check('filter with and, not, sw',
    (await list(`name sw "${PREFIX}Partner" and not (origin eq "https://partner0-${PID}.node.example")`)).length === 6, 'count');
  check('filter on type', JSON.stringify(await list(`type eq "IFRAME_EMBED" and name eq "${PREFIX}Portal"`)) === JSON.stringify([created.id]), 'type');

  let error = await failure(api.getTrustedOrigin({ trustedOriginId: 'tosNOPE' }));
  check('404 is an OktaApiError E0000007', error instanceof okta.OktaApiError && error.errorCode === 'E0000007' && error.status === 404, error);
  error = await failure(list('name eq "a" or'));
  check('a bad filter is E0000001', error instanceof okta.OktaApiError && error.errorCode === 'E0000001' && /at character/.test(error.message), error);
  error = await failure(api.createTrustedOrigin(write('Bad apps', `https://bad-${PID}.node.example`, [{ type: 'CORS', allowedOktaApps: ['OKTA_ENDUSER'] }])));
  check('allowedOktaApps outside IFRAME_EMBED is E0000001', error instanceof okta.OktaApiError && error.errorCode === 'E0000001' && /allowedOktaApps/.test(error.message), error);
  error = await failure(api.createTrustedOrigin(write('Partner 0', `https://again-${PID}.node.example`, [{ type: 'CORS' }])));
  check('a taken name is E0000001', error instanceof okta.OktaApiError && error.errorCode === 'E0000001', error);
  error = await failure(client('00wrong').trustedOriginApi.getTrustedOrigin({ trustedOriginId: created.id }));
  check('a wrong token is E0000011', error instanceof okta.OktaApiError && error.errorCode === 'E0000011' && error.status === 401, error);
  check('the error id is the request id', error.headers && error.headers.get('x-okta-request-id') === error.errorId, error.errorId);

  // A 429: spend the spare token's budget, then the SDK waits for X-Rate-Limit-Reset and retries.
  // The budget refills while the SDK's call is on its way, so its call meets the 429 only most of
  // the time: the server's count of limited calls tells whether it did, and the spend is tried
  // again until one did.
  const limitedSoFar = async () => {
    const text = await (await fetch(`${ORG}/metrics`)).text();
    return text.split('\n')
      .filter((line) => line.startsWith('trusted_cors_api_rate_limited_total{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };
  // Told not to retry, the SDK hands the 429 over as its own error type.
  const noRetry = new okta.Client({ orgUrl: ORG, token: SPARE, requestExecutor: new okta.DefaultRequestExecutor({ maxRetries: 0 }) }).trustedOriginApi;
  let limitedError;
  for (let attempt = 0; attempt < 5 && limitedError === undefined; attempt++) {
    let spent = false;
    for (let n = 0; n < 1000 && !spent; n++) {
      const response = await fetch(`${ORG}/api/v1/trustedOrigins?limit=1`, { headers: { authorization: `SSWS ${SPARE}` } });
      await response.text();
      spent = response.status === 429;
    }
    check('the budget runs out', spent);
    limitedError = await failure(noRetry.getTrustedOrigin({ trustedOriginId: created.id }));
  }
  check('a 429 is an OktaApiError E0000047', limitedError instanceof okta.OktaApiError && limitedError.errorCode === 'E0000047' && limitedError.status === 429, limitedError);

  const spare = client(SPARE).trustedOriginApi;
  let backedOff;
  for (let attempt = 0; attempt < 5 && backedOff === undefined; attempt++) {
    let limited;
    for (let n = 0; n < 1000 && !limited; n++) {
      const response = await fetch(`${ORG}/api/v1/trustedOrigins?limit=1`, { headers: { authorization: `SSWS ${SPARE}` } });
      const body = await response.text();
      if (response.status === 429) limited = { retryAfter: response.headers.get('retry-after'), body };
    }
    check('429 is E0000047 with Retry-After', limited && limited.retryAfter && limited.body.includes('E0000047'), limited);
    const before = await limitedSoFar();
    const started = Date.now();
    const after429 = await spare.getTrustedOrigin({ trustedOriginId: created.id });
    const waited = Date.now() - started;
    check("the SDK's call succeeds after the spend", after429.id === created.id, after429);
    if ((await limitedSoFar()) > before) backedOff = waited;
  }
  check('the SDK backs off from a 429 and succeeds', backedOff !== undefined && backedOff >= 500, backedOff);

  for (const id of ids) {
    await api.deleteTrustedOrigin({ trustedOriginId: id });
  }
  check('delete', true);
  error = await failure(api.getTrustedOrigin({ trustedOriginId: created.id }));
  check('deleted is gone', error instanceof okta.OktaApiError && error.errorCode === 'E0000007', error);
  console.log('done');
}

main().catch((error) => {
  console.log(`FAIL unexpected: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});

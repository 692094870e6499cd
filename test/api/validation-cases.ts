// The validation suite's table: each rule a request must break, and the field its 422 must name.

/** One rule: [what it tests, body sent, the field the error must name, error code if not validation_failed]. */
type Row = [name: string, body: unknown, field: string, code?: string];
/** Rows sent to one route; `{wh}` in the path is a webhook created in beforeAll. */
interface Group {
  method: 'POST' | 'PATCH' | 'GET';
  path: string;
  as: 'admin' | 'tenant';
  rows: Row[];
}

export const URL_OK = 'https://example.com/hooks';
export const b64 = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
export const manyHeaders = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));
const hook = (extra: Record<string, unknown>) => ({ url: URL_OK, ...extra });
const RESERVED = ['host', 'Content-Length', 'content-type', 'Transfer-Encoding', 'connection'].concat([
  'User-Agent',
  'Authorization',
  'webhook-id',
  'Webhook-Signature',
  'webhook-timestamp',
  'WEBHOOK-x',
]);
const UNKNOWN = 'unknown_event_type';

const groups: Group[] = [
  {
    method: 'POST',
    path: '/v1/tenants',
    as: 'admin',
    rows: [
      ['tenant name missing', {}, 'name'],
      ['tenant name not a string', { name: 5 }, 'name'],
      ['tenant name empty', { name: '' }, 'name'],
      ['tenant unknown field', { name: 'A', plan: 'gold' }, 'plan'],
      ...['a b', 'a.b', 'a/b', 'ä', '', 'a'.repeat(65)].map(
        (id): Row => [`tenant id ${JSON.stringify(id).slice(0, 20)}`, { id, name: 'A' }, 'id'],
      ),
      ['tenant id not a string', { id: 7, name: 'A' }, 'id'],
    ],
  },
  {
    method: 'PATCH',
    path: '/v1/tenants/default',
    as: 'admin',
    rows: [
      ['tenant patch name type', { name: 1 }, 'name'],
      ['tenant patch unknown', { id: 'x' }, 'id'],
    ],
  },
  {
    method: 'POST',
    path: '/v1/tenants/default/keys',
    as: 'admin',
    rows: [
      ['key name not a string', { name: 5 }, 'name'],
      ['key unknown field', { scope: 'all' }, 'scope'],
    ],
  },
  {
    method: 'POST',
    path: '/v1/event-types',
    as: 'admin',
    rows: [
      ['type name missing', {}, 'name'],
      ['type name not a string', { name: 1 }, 'name'],
      ...['', 'a..b', '.a', 'a.', 'a b', 'a/b', 'a.*', '*', 'ä.b', 'a:b', 'a'.repeat(129)].map(
        (name): Row => [`type name ${JSON.stringify(name).slice(0, 20)}`, { name }, 'name'],
      ),
      ['type unknown field', { name: 'x.y', tags: [] }, 'tags'],
      ['type description', { name: 'x.y', description: 5 }, 'description'],
      ['type bad schema', { name: 'x.y', schema: { type: 'nope' } }, 'schema'],
      ['type example vs schema', { name: 'x.y', schema: { required: ['n'] }, example: {} }, 'example'],
    ],
  },
  {
    method: 'PATCH',
    path: '/v1/event-types/invoice.paid',
    as: 'admin',
    rows: [
      ['type patch archived', { archived: 'y' }, 'archived'],
      ['type patch name', { name: 'z' }, 'name'],
      ['type patch example vs schema', { schema: { type: 'string' } }, 'example'],
    ],
  },
  {
    method: 'POST',
    path: '/v1/webhooks',
    as: 'tenant',
    rows: [
      ['url missing', {}, 'url'],
      ['url not a string', { url: 5 }, 'url'],
      ['url relative', { url: '/hooks' }, 'url'],
      ['url without scheme', { url: 'example.com/hooks' }, 'url'],
      ['url ftp', { url: 'ftp://example.com/x' }, 'url'],
      ['url javascript', { url: 'javascript:alert(1)' }, 'url'],
      ['url credentials', { url: 'https://user:pass@example.com/' }, 'url'],
      ['url user only', { url: 'https://user@example.com/' }, 'url'],
      ['url with a leading space', { url: ` ${URL_OK}` }, 'url'],
      ['url with a tab in the host', { url: 'https://exa\tmple.com/' }, 'url'],
      ['url with a newline', { url: `${URL_OK}\n` }, 'url'],
      ['url 2049 chars', { url: `${URL_OK}/${'a'.repeat(2023)}` }, 'url'],
      ['url 5000 chars', { url: `${URL_OK}/${'a'.repeat(5000)}` }, 'url'],
      ['callbackUrl ftp', { callbackUrl: 'ftp://x.com/' }, 'callbackUrl'],
      ['url and callbackUrl differ', hook({ callbackUrl: 'https://x.com/' }), 'callbackUrl'],
      ['unknown field', hook({ colour: 'red' }), 'colour'],
      ['status on create', hook({ status: 'ACTIVE' }), 'status'],
      ['description type', hook({ description: 5 }), 'description'],
      ['events not a list', hook({ events: 'a.b' }), 'events'],
      ['events item type', hook({ events: [5] }), 'events[0]'],
      ...['bad pattern', 'a.*.b', '*.a', 'a*', 'a.**', '', '.*', 'a.b.'].map(
        (p): Row => [
          `events pattern ${JSON.stringify(p)}`,
          hook({ events: ['invoice.paid', p] }),
          'events[1]',
        ],
      ),
      ['events 101 items', hook({ events: Array.from({ length: 101 }, (_, i) => `p${i}.*`) }), 'events'],
      ['events unknown exact name', hook({ events: ['invoice.paid', 'no.such.type'] }), 'events[1]', UNKNOWN],
      ['secret type', hook({ secret: 5 }), 'secret'],
      ['secret whsec not base64', hook({ secret: 'whsec_!!!!not-base64!!!!' }), 'secret'],
      ['secret whsec 23 bytes', hook({ secret: b64(23) }), 'secret'],
      ['secret whsec 65 bytes', hook({ secret: b64(65) }), 'secret'],
      ['secret whsec empty', hook({ secret: 'whsec_' }), 'secret'],
      ['secret plain 15 chars', hook({ secret: 'x'.repeat(15) }), 'secret'],
      ['secret plain 129 chars', hook({ secret: 'x'.repeat(129) }), 'secret'],
      ['secret plain 300 chars', hook({ secret: 'x'.repeat(300) }), 'secret'],
      ['auth not an object', hook({ auth: 'u:p' }), 'auth'],
      ['auth without password', hook({ auth: { username: 'u' } }), 'auth.password'],
      ['auth unknown field', hook({ auth: { username: 'u', password: 'p', x: 1 } }), 'auth.x'],
      ['auth username with colon', hook({ auth: { username: 'a:b', password: 'p' } }), 'username'],
      ['auth and authUsername', hook({ auth: { username: 'a', password: 'p' }, authUsername: 'b' }), 'auth'],
      ['authPassword alone', hook({ authPassword: 'p' }), 'authUsername'],
      ['authUsername type', hook({ authUsername: 5 }), 'authUsername'],
      ['headers not an object', hook({ headers: ['X-A'] }), 'headers'],
      ['headers 21', hook({ headers: manyHeaders(21) }), 'headers'],
      ['header value type', hook({ headers: { 'X-A': 5 } }), 'headers.X-A'],
      ...['X A', 'X:A', '', 'X-Ä', 'X(A)', 'X/A'].map(
        (h): Row => [`header name ${JSON.stringify(h)}`, hook({ headers: { [h]: 'v' } }), 'headers'],
      ),
      ['header value CRLF', hook({ headers: { 'X-A': 'a\r\nX-B: b' } }), 'headers.X-A'],
      ['header value LF', hook({ headers: { 'X-A': 'a\nb' } }), 'headers.X-A'],
      ['header value CR', hook({ headers: { 'X-A': 'a\rb' } }), 'headers.X-A'],
      ['header value NUL', hook({ headers: { 'X-A': 'a\u0000b' } }), 'headers.X-A'],
      ['header value DEL', hook({ headers: { 'X-A': 'a\u007fb' } }), 'headers.X-A'],
      ['header value beyond Latin-1', hook({ headers: { 'X-A': 'smile \u{1F600}' } }), 'headers.X-A'],
      ...RESERVED.map(
        (h): Row => [`reserved header ${h}`, hook({ headers: { 'X-Ok': 'v', [h]: 'v' } }), `headers.${h}`],
      ),
      ['timeout_ms as string', hook({ timeout_ms: '5000' }), 'timeout_ms'],
      ['timeout_ms 999', hook({ timeout_ms: 999 }), 'timeout_ms'],
      ['timeout_ms 30001', hook({ timeout_ms: 30001 }), 'timeout_ms'],
      ['timeout_ms fraction', hook({ timeout_ms: 1500.5 }), 'timeout_ms'],
      ['timeout_ms null', hook({ timeout_ms: null }), 'timeout_ms'],
      ['rate limit 0', hook({ rate_limit_per_sec: 0 }), 'rate_limit_per_sec'],
      ['rate limit 10001', hook({ rate_limit_per_sec: 10001 }), 'rate_limit_per_sec'],
      ['rate limit string', hook({ rate_limit_per_sec: '5' }), 'rate_limit_per_sec'],
      ['rate limit fraction', hook({ rate_limit_per_sec: 1.5 }), 'rate_limit_per_sec'],
      ['retry_schedule scalar', hook({ retry_schedule: 60 }), 'retry_schedule'],
      ['retry_schedule item 0', hook({ retry_schedule: [60, 0] }), 'retry_schedule[1]'],
      ['retry_schedule item 259201', hook({ retry_schedule: [259201] }), 'retry_schedule[0]'],
      ['retry_schedule item string', hook({ retry_schedule: ['60'] }), 'retry_schedule[0]'],
      ['retry_schedule item fraction', hook({ retry_schedule: [1.5] }), 'retry_schedule[0]'],
      ['retry_schedule 21 items', hook({ retry_schedule: Array(21).fill(1) }), 'retry_schedule'],
      ['signature_header type', hook({ signature_header: 5 }), 'signature_header'],
      ['signature_header bad name', hook({ signature_header: 'X Sig' }), 'signature_header'],
      ['signature_header empty', hook({ signature_header: '' }), 'signature_header'],
      ['signature_header reserved', hook({ signature_header: 'webhook-signature' }), 'signature_header'],
      ['metadata not an object', hook({ metadata: 'x' }), 'metadata'],
      ['metadata array', hook({ metadata: [1] }), 'metadata'],
    ],
  },
  {
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    as: 'tenant',
    rows: [
      ['patch url ftp', { url: 'ftp://x.com/' }, 'url'],
      ['patch url null', { url: null }, 'url'],
      ['patch timeout 999', { timeout_ms: 999 }, 'timeout_ms'],
      ['patch header CRLF', { headers: { A: '\r\n' } }, 'headers.A'],
      ['patch reserved header', { headers: { 'webhook-id': 'x' } }, 'headers.webhook-id'],
      ['patch unknown event', { events: ['nope.nope'] }, 'events[0]', UNKNOWN],
      ['patch status SUSPENDED', { status: 'SUSPENDED' }, 'status'],
      ['patch status bogus', { status: 'PAUSED' }, 'status'],
      ['patch secret', { secret: 'x'.repeat(20) }, 'secret'],
      ['patch unknown field', { id: 'wh_x' }, 'id'],
    ],
  },
  {
    method: 'POST',
    path: '/v1/webhooks/{wh}/rotate-secret',
    as: 'tenant',
    rows: [
      ['rotate short secret', { secret: 'short' }, 'secret'],
      ['rotate whsec 23 bytes', { secret: b64(23) }, 'secret'],
      ['rotate secret type', { secret: 5 }, 'secret'],
      ['rotate unknown field', { key: 'x' }, 'key'],
    ],
  },
  ...['/v1/webhooks', '/v1/tenants', '/v1/event-types'].map(
    (p): Group => ({
      method: 'GET',
      path: p,
      as: 'admin',
      rows: [
        ...['0', '251', 'abc', '-1', '1.5', ''].map((v): Row => [`${p}?limit=${v}`, `?limit=${v}`, 'limit']),
        [`${p}?cursor=garbage`, '?cursor=garbage', 'cursor'],
        [`${p}?bogus=1`, '?bogus=1', 'bogus'],
      ],
    }),
  ),
  { method: 'GET', path: '/v1/webhooks', as: 'tenant', rows: [['?status=nope', '?status=nope', 'status']] },
];

/** GET rows carry their query string where the others carry a body. */
export const cases = groups.flatMap((g) =>
  g.rows.map(([name, body, field, code]) => ({
    name,
    method: g.method,
    as: g.as,
    path: g.method === 'GET' ? g.path + String(body) : g.path,
    body: g.method === 'GET' ? undefined : body,
    field,
    code: code ?? 'validation_failed',
  })),
);

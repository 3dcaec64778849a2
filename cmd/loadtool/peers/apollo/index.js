'use strict';

// The events feed on a common Node stack: Apollo Server on node:http,
// mysql2 (a pool), DataLoader and jsonwebtoken. It answers the load tool's
// feed query with the plain Go baseline's four statements (the viewer, the
// feed statement of events.FeedSQL, the posts' unions, the member's
// sign-ups) and the same JSON. See README.md.

const http = require('node:http');
const { ApolloServer, HeaderMap } = require('@apollo/server');
const { GraphQLError } = require('graphql');
const DataLoader = require('dataloader');
const jwt = require('jsonwebtoken');
const mysql = require('mysql2/promise');

// The server's dev defaults (internal/config): the load tool passes its own.
const DEV_JWT_KEYS = 'dev1:dev-only-jwt-secret-do-not-use-in-production-0123456789';

const typeDefs = `#graphql
  type Query {
    events(first: Int = 20, after: String): EventConnection!
  }
  type EventConnection {
    edges: [EventEdge!]!
    pageInfo: PageInfo!
  }
  type EventEdge {
    cursor: String!
    node: EventPost!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type EventPost {
    id: ID!
    title: String!
    category: String!
    coverUrl: String!
    pinned: Boolean!
    publishAt: String
    views: Int!
    union: Union!
    mySignUp: EventSignUp
  }
  type Union {
    id: ID!
    name: String!
  }
  type EventSignUp {
    id: ID!
    status: String!
  }
`;

// feedColumns are internal/events' feedColumns: a post but its body.
const feedColumns = 'p.id, p.union_id, p.title, p.category, p.body_format, p.cover_url, p.pinned, p.publish_at, p.view_count,' +
  ' p.has_sign_up, p.capacity, p.waitlist_limit, p.confirmed_count, p.waitlist_count, p.waitlist_seq, p.sign_up_opens_at,' +
  ' p.sign_up_closes_at, p.starts_at, p.ends_at, p.place, p.sign_up_cancelled, p.sign_up_cancel_reason, p.elig_union_id,' +
  ' p.elig_path, p.elig_forms, p.elig_gender, p.elig_min_age, p.elig_max_age, p.elig_verified_only, p.status, p.version,' +
  ' p.created_by, p.published_at, p.created_at, p.updated_at';

const PINNED_FEED_KEY = 2 ** 40; // models.PinnedFeedKey

// feedSQL is events.FeedSQL for MySQL, a member and no category filter.
function feedSQL(chain, hasKey, key, id, limit, now) {
  const args = [];
  const subs = chain.map((u, i) => {
    let s = 'SELECT post_id, feed_key FROM (SELECT post_id, feed_key FROM event_targets FORCE INDEX (idx_event_targets_feed)' +
      ' WHERE union_id = ? AND status = ? AND publish_at <= ?';
    args.push(u, 'PUBLISHED', now);
    if (hasKey) {
      s += ' AND feed_key <= ? AND (feed_key < ? OR post_id < ?)';
      args.push(key, key, id);
    }
    return s + ` ORDER BY feed_key DESC, post_id DESC LIMIT ${limit}) AS t${i}`;
  });
  const q = `SELECT ${feedColumns} FROM event_posts AS p JOIN (${subs.join(' UNION ALL ')}) AS f ON f.post_id = p.id` +
    ` ORDER BY f.feed_key DESC, f.post_id DESC LIMIT ${limit}`;
  return [q, args];
}

const intRe = /^[+-]?\d+$/;

// pathIDs is models.PathIDs: "/1/7/42/" → [1, 7, 42].
function pathIDs(path) {
  return path.replace(/^\/+|\/+$/g, '').split('/').filter((p) => intRe.test(p)).map(Number);
}

// Cursors are page.Encode's: unpadded base64url of {"k":feedKey,"i":postID}.
function encodeCursor(k, i) {
  return Buffer.from(JSON.stringify({ k, i })).toString('base64url');
}

function invalid(field, message) {
  return new GraphQLError(message, { extensions: { code: 'VALIDATION_FAILED', field } });
}

function decodeCursor(after) {
  if (after == null || after === '') {
    return null;
  }
  let key;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(after)) {
      throw new Error('not base64url');
    }
    const b = Buffer.from(after, 'base64url');
    if (b.length > 512) {
      throw new Error('too long');
    }
    key = JSON.parse(b.toString());
  } catch {
    throw invalid('after', '分页游标无效');
  }
  const k = key?.k ?? 0;
  const i = key?.i ?? 0;
  if (typeof key !== 'object' || !Number.isInteger(k) || !Number.isInteger(i)) {
    throw invalid('after', '分页游标无效');
  }
  return { k, i };
}

// goTime writes a DATETIME(6) string as Go's encoding/json writes a UTC
// time.Time (RFC 3339, the fraction without trailing zeros).
function goTime(s) {
  if (s == null) {
    return null;
  }
  const [date, time] = s.split(' ');
  const [hms, frac = ''] = time.split('.');
  const f = frac.replace(/0+$/, '');
  return `${date}T${hms}${f ? '.' + f : ''}Z`;
}

function unixSeconds(s) {
  return Math.floor(Date.parse(s.replace(' ', 'T') + 'Z') / 1000);
}

// utcNow is now as the Go driver interpolates a time.Time in UTC.
function utcNow() {
  return new Date().toISOString().replace('T', ' ').replace('Z', '');
}

function placeholders(n) {
  return new Array(n).fill('?').join(',');
}

const resolvers = {
  Query: {
    async events(_, { first: firstArg, after }, ctx) {
      const member = ctx.memberId;
      if (member == null) {
        throw new GraphQLError(ctx.authError ?? '请先登录', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      const first = firstArg ?? 20; // page.Size: an explicit null is the default too
      if (first < 1 || first > 100) {
        throw invalid('first', '每页条数应在 1 到 100 之间');
      }
      const key = decodeCursor(after);
      // 1. The viewer: the member and their union's path.
      const [viewer] = await ctx.db.query('SELECT members.status, unions.path FROM members LEFT JOIN unions ON unions.id = members.union_id' +
        ' WHERE members.id = ?', [member]);
      if (viewer.length === 0) {
        throw new Error(`member ${member} not found`);
      }
      const chain = pathIDs(viewer[0].path ?? '');
      if (chain.length === 0) {
        return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
      }
      // 2. The feed statement.
      const [q, args] = feedSQL(chain, key != null, key?.k, key?.i, first + 1, utcNow());
      const [rows] = await ctx.db.query(q, args);
      const hasNextPage = rows.length > first;
      const edges = rows.slice(0, first).map((r) => {
        const pinned = r.pinned === 1;
        const feedKey = (r.publish_at == null ? 0 : unixSeconds(r.publish_at)) + (pinned ? PINNED_FEED_KEY : 0);
        return {
          cursor: encodeCursor(feedKey, r.id),
          node: {
            postId: r.id, unionId: r.union_id, id: String(r.id), title: r.title, category: r.category, coverUrl: r.cover_url,
            pinned, publishAt: goTime(r.publish_at), views: r.view_count,
          },
        };
      });
      return { edges, pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1].cursor : null } };
    },
  },
  // 3. and 4.: batched per request, one statement each for a page.
  EventPost: {
    union: (post, _, ctx) => ctx.unions.load(post.unionId),
    mySignUp: (post, _, ctx) => ctx.signUps.load(post.postId),
  },
};

function loaders(db, memberId) {
  return {
    unions: new DataLoader(async (ids) => {
      const [rows] = await db.query(`SELECT id, name FROM unions WHERE id IN (${placeholders(ids.length)})`, ids);
      const names = new Map(rows.map((r) => [r.id, r.name]));
      return ids.map((id) => ({ id: String(id), name: names.get(id) ?? '' }));
    }),
    signUps: new DataLoader(async (postIds) => {
      const [rows] = await db.query('SELECT id, post_id, status FROM event_signups WHERE member_id = ? AND post_id IN (' +
        placeholders(postIds.length) + ') ORDER BY id', [memberId, ...postIds]);
      // The latest sign-up of a post wins, as in the baseline.
      const mine = new Map(rows.map((r) => [r.post_id, { id: String(r.id), status: r.status }]));
      return postIds.map((id) => mine.get(id) ?? null);
    }),
  };
}

// parseKeys is config.SigningKeys: "kid:secret[,kid:secret…]".
function parseKeys(s) {
  const keys = new Map();
  for (let part of s.split(',')) {
    part = part.trim();
    if (part === '') {
      continue;
    }
    const at = part.indexOf(':');
    const kid = at < 0 ? '' : part.slice(0, at);
    const secret = at < 0 ? '' : part.slice(at + 1);
    if (kid === '' || secret === '') {
      throw new Error('JWT_KEYS must be kid:secret[,kid:secret…]');
    }
    if (keys.has(kid)) {
      throw new Error(`JWT_KEYS repeats kid "${kid}"`);
    }
    keys.set(kid, Buffer.from(secret));
  }
  if (keys.size === 0) {
    throw new Error('JWT_KEYS is empty');
  }
  return keys;
}

const BAD_TOKEN = '登录状态无效，请重新登录';
const LEEWAY_S = 30;

// verifier checks a token as internal/auth's Tokens.Verify does (HS256
// only, a known kid, exp required, iat not in the future, iss, aud, 30 s
// leeway; subject "member:<id>" agreeing with knd, a session id, no role)
// and returns the member id, or throws the message to answer with.
function verifier(keys, issuer, audience) {
  return (raw) => {
    const decoded = jwt.decode(raw, { complete: true });
    const key = typeof decoded?.header?.kid === 'string' ? keys.get(decoded.header.kid) : undefined;
    if (!key) {
      throw new Error(BAD_TOKEN);
    }
    let c;
    try {
      c = jwt.verify(raw, key, { algorithms: ['HS256'], issuer, audience, clockTolerance: LEEWAY_S });
    } catch (err) {
      throw new Error(err instanceof jwt.TokenExpiredError ? '登录已过期，请重新登录' : BAD_TOKEN);
    }
    // jsonwebtoken accepts a token without exp and one issued in the future.
    if (typeof c.exp !== 'number' || (c.iat !== undefined && (typeof c.iat !== 'number' || c.iat > Date.now() / 1000 + LEEWAY_S))) {
      throw new Error(BAD_TOKEN);
    }
    const sub = typeof c.sub === 'string' ? c.sub : '';
    const at = sub.indexOf(':');
    const kind = sub.slice(0, at);
    const id = at < 0 || !intRe.test(sub.slice(at + 1)) ? 0 : Number(sub.slice(at + 1));
    if (at < 0 || !(id > 0) || kind !== c.knd || !Number.isInteger(c.sid) || c.sid <= 0) {
      throw new Error(BAD_TOKEN);
    }
    if (c.knd !== 'member' || (c.rol !== undefined && c.rol !== '')) {
      throw new Error(BAD_TOKEN);
    }
    return id;
  };
}

// principal reads "Authorization: Bearer <jwt>" as auth.FromHeader does:
// no header is anonymous, a refused token says why.
function principal(header, verify) {
  if (!header) {
    return {};
  }
  const sp = header.indexOf(' ');
  const raw = sp < 0 ? '' : header.slice(sp + 1).trim();
  if (sp < 0 || header.slice(0, sp).toLowerCase() !== 'bearer' || raw === '') {
    return { authError: BAD_TOKEN };
  }
  try {
    return { memberId: verify(raw) };
  } catch (err) {
    return { authError: err.message };
  }
}

// parseDSN reads the Go driver's user[:password]@tcp(host:port)/dbname[?…].
function parseDSN(dsn) {
  const m = /^(?:([^:@]*)(?::(.*))?@)?(?:tcp\(([^)]*)\))?\/([^?]*)(?:\?.*)?$/.exec(dsn);
  if (!m) {
    throw new Error(`DATABASE_DSN ${JSON.stringify(dsn)}: want user[:password]@tcp(host:port)/dbname`);
  }
  const [host, port] = splitHostPort(m[3] || '127.0.0.1:3306', 3306);
  return { user: m[1] || 'root', password: m[2] ?? '', host, port, database: m[4] };
}

function splitHostPort(addr, defPort) {
  const at = addr.lastIndexOf(':');
  return at < 0 ? [addr, defPort] : [addr.slice(0, at) || '127.0.0.1', Number(addr.slice(at + 1))];
}

async function main() {
  const env = process.env;
  const size = Number(env.DB_MAX_OPEN_CONNS || 30);
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`DB_MAX_OPEN_CONNS ${JSON.stringify(env.DB_MAX_OPEN_CONNS)}: want a positive integer`);
  }
  const db = mysql.createPool({
    ...parseDSN(env.DATABASE_DSN || 'root@tcp(127.0.0.1:3306)/unionhall_feed'),
    connectionLimit: size,
    maxIdle: size,
    charset: 'UTF8MB4_UNICODE_CI',
    // DATETIME(6) as text: a JS Date would drop the microseconds.
    dateStrings: true,
  });
  await db.query('SELECT 1');
  const verify = verifier(parseKeys(env.JWT_KEYS || DEV_JWT_KEYS), env.JWT_ISSUER || 'unionhall',
    env.JWT_AUDIENCE || 'unionhall-miniprogram');
  const server = new ApolloServer({ typeDefs, resolvers });
  await server.start();

  const httpServer = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname === '/healthz') {
      res.end(`${process.pid}\n`);
      return;
    }
    if (url.pathname !== '/graphql' || req.method !== 'POST') {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    try {
      const chunks = [];
      let n = 0;
      for await (const c of req) {
        n += c.length;
        if (n > 1 << 20) {
          res.statusCode = 413;
          res.end('request too large\n');
          return;
        }
        chunks.push(c);
      }
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        res.statusCode = 400;
        res.end('bad request\n');
        return;
      }
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) {
          headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
      }
      const out = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: url.search, body },
        context: async () => {
          const p = principal(req.headers.authorization, verify);
          return { db, ...p, ...loaders(db, p.memberId) };
        },
      });
      for (const [k, v] of out.headers) {
        res.setHeader(k, v);
      }
      res.statusCode = out.status || 200;
      if (out.body.kind === 'complete') {
        res.end(out.body.string);
        return;
      }
      for await (const chunk of out.body.asyncIterator) {
        res.write(chunk);
      }
      res.end();
    } catch (err) {
      console.error(err);
      res.statusCode = 500;
      res.end('internal error\n');
    }
  });
  // Outlive the load tool's idle connections (90 s), so the client, not a
  // server closing one as a request goes out, ends them.
  httpServer.keepAliveTimeout = 120_000;
  const [host, port] = splitHostPort(env.PEER_ADDR || '127.0.0.1:18082');
  httpServer.listen(port, host, () => console.error(`apollo feed peer pid ${process.pid} listening on ${host}:${port}, pool ${size}`));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

//! The key index of [`RedisStore::with_index`](super::RedisStore::with_index): what lets
//! `keys()` and `collections()` read one collection's names instead of scanning the
//! whole database.
//!
//! Layout, beside the data keys `{ns}:{{len}:{collection}}{key}`:
//!
//! - **a collection's index** `{ns}:{{len}:{collection}}` + byte `0xFF`: a sorted set of
//!   the collection's keys, each scored with the millisecond its entry expires (server
//!   clock) or `inf`. `0xFF` never occurs in UTF-8, so no data key is ever an index, and
//!   the hash tag keeps it in the collection's slot on a cluster.
//! - **the collections index** `{ns}:{` + `0xFF` + `}`: a sorted set of collection
//!   names.
//!
//! Every write changes the entry and its index in one atomic step, so another process
//! never sees one without the other: a put without a TTL is one `MULTI` transaction of
//! plain commands (a script's run costs the server several times as much, and this put
//! is the common one); every other write is a server-side script, which reads the
//! server's clock. What keeps the indexes bounded:
//! a write with a TTL drops the members that have expired; an index expires with its
//! last member to expire (it is persistent only while a member without TTL is in it),
//! recomputed on every delete;
//! a collection's name is registered by every put without a TTL and when a write with
//! one creates the index, and each new registration drops up to two sampled names whose
//! index is gone; `collections()` drops the dead names it meets. An entry removed behind
//! the store's back (a raw `DEL`) leaves a member, which `keys()` checks with `EXISTS`
//! and skips, and `collections()` checks and takes out.
//!
//! On a cluster the collections index sits in a slot of its own, which no script or
//! transaction on a collection's slot may touch. There a write learns, in the same
//! transaction, whether it created the collection's index (`EXISTS` first), and then
//! registers the name with a `ZADD` of its own; a name leaves by `ZREM`, then a fresh
//! look at the index, and a `ZADD` again if the index exists by then. Whatever the
//! interleaving with a writer (index first, then name), a collection with an index ends
//! up named. A name new to the list has two sampled names checked, as on one server.
//! The one gap: a process that dies between its write and the registration leaves a
//! collection unnamed until its index dies or `build_index` runs.

use std::sync::LazyLock;

use redis::Script;

/// Milliseconds subtracted from the server's clock when `keys()` picks live members by
/// score: on a cluster the clock read may be another node's.
pub(crate) const CLOCK_MARGIN_MS: u64 = 1_000;

/// The index of the collection whose data keys start with `head`.
pub(crate) fn index_key(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 1);
    out.extend_from_slice(head);
    out.push(0xFF);
    out
}

/// The collections index of `namespace`.
pub(crate) fn collections_key(namespace: &str) -> Vec<u8> {
    let mut out = namespace.as_bytes().to_vec();
    out.extend_from_slice(b":{\xff}");
    out
}

/// The index of a collection from its key as SCAN finds it, or `None` for a data key.
pub(crate) fn is_index(raw: &[u8]) -> bool {
    raw.last() == Some(&0xFF)
}

/// The functions every indexed write shares. `add` records `members` written with
/// `px` ('' = no TTL) in `idx`, and a new index's collection in `colls` (when given);
/// `remove` takes members out. `settle` sets an index's expiry to its latest member's
/// (persistent while a member without TTL is in it).
const LIB: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function settle(idx)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if not top[2] then return end
  if top[2] == 'inf' then redis.call('PERSIST', idx)
  else redis.call('PEXPIREAT', idx, top[2]) end
end
local function prune(colls, head, name)
  for _, other in ipairs(redis.call('ZRANDMEMBER', colls, 2)) do
    if other ~= name and redis.call('EXISTS', head .. #other .. ':' .. other .. '}\255') == 0 then
      redis.call('ZREM', colls, other)
    end
  end
end
local function add(idx, colls, head, name, px, members)
  local cur = redis.call('PTTL', idx)
  local score, now = 'inf', 0
  if px ~= '' then
    now = now_ms()
    score = now + tonumber(px)
  end
  local args = {}
  for i = 1, #members do
    args[2 * i - 1] = score
    args[2 * i] = members[i]
  end
  redis.call('ZADD', idx, unpack(args))
  if px == '' then
    if cur >= 0 then redis.call('PERSIST', idx) end
  else
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
    if cur == -2 or (cur >= 0 and cur < tonumber(px)) then redis.call('PEXPIRE', idx, px)
    elseif cur == -1 then settle(idx) end
  end
  if colls and cur == -2 then
    redis.call('ZADD', colls, 0, name)
    prune(colls, head, name)
  end
end
local function remove(idx, members)
  redis.call('ZREM', idx, unpack(members))
  settle(idx)
end
";

/// A script: the shared functions, then `body`.
fn indexed(body: &str) -> Script {
    Script::new(&format!("{LIB}{body}"))
}

/// Put: KEYS = n data keys, the index, the collections index (optional); ARGV = n,
/// `PX` ms or '', the namespace head, the collection, n members, n stored forms.
/// Without a TTL the entries go in one MSET (one call where a loop of SETs costs one
/// each).
pub(crate) static PUT: LazyLock<Script> = LazyLock::new(|| {
    indexed(
        r"
local n = tonumber(ARGV[1])
local px = ARGV[2]
local members = {}
if px == '' then
  local kv = {}
  for i = 1, n do
    kv[2 * i - 1] = KEYS[i]
    kv[2 * i] = ARGV[4 + n + i]
  end
  redis.call('MSET', unpack(kv))
else
  for i = 1, n do redis.call('SET', KEYS[i], ARGV[4 + n + i], 'PX', px) end
end
for i = 1, n do members[i] = ARGV[4 + i] end
add(KEYS[n + 1], KEYS[n + 2], ARGV[3], ARGV[4], px, members)
return n
",
    )
});

/// After a put without a TTL registered a new name (outside a script): KEYS = the
/// collections index; ARGV = the namespace head, the new name. Drops up to two sampled
/// names whose index is gone, as a registration inside a script does.
pub(crate) static PRUNE_COLLECTIONS: LazyLock<Script> = LazyLock::new(|| {
    indexed(
        r"
prune(KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// Delete: KEYS = n data keys, then the index; ARGV = the n members. Answers how many
/// entries existed.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    indexed(
        r"
local n = #KEYS - 1
local removed = redis.call('UNLINK', unpack(KEYS, 1, n))
remove(KEYS[n + 1], ARGV)
return removed
",
    )
});

/// Create: KEYS = the data key, the index, the collections index (optional); ARGV =
/// the stored form, `PX` ms or '', the namespace head, the collection, the member.
/// Answers the current stored form when one was there (nothing written), else nil.
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    indexed(
        r"
local old
if ARGV[2] == '' then old = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET')
else old = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET', 'PX', ARGV[2]) end
if not old then add(KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[2], {ARGV[5]}) end
return old
",
    )
});

/// The version check both conditional scripts start with: the current stored form's
/// version, 16 bytes (a 0.1 value has version 0), into `ver`; `on_foreign` runs for a
/// value this store did not write, `on_missing` for no value.
fn version_check(on_missing: &str, on_foreign: &str) -> String {
    format!(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then {on_missing} end
local f = string.byte(cur, 1)
local ver
if f == 2 then ver = string.sub(cur, 2, 17)
elseif f == 1 then ver = string.rep('\0', 16)
else {on_foreign} end
"
    )
}

/// Compare-and-swap: KEYS[1] the key, ARGV[1] the expected version (16 bytes),
/// ARGV[2] the new stored form, ARGV[3] `PX` milliseconds or empty; indexed, also
/// KEYS[2] the index, KEYS[3] the collections index (optional), ARGV[4..6] the
/// namespace head, the collection and the member. Answers `{1, false}` when applied,
/// else `{0, current stored form or false}`.
pub(crate) fn put_if_version(index: bool) -> Script {
    let mut body = version_check("return {0, false}", "return {0, cur}");
    body.push_str(
        r"
if ver ~= ARGV[1] then return {0, cur} end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
",
    );
    if index {
        body.push_str("add(KEYS[2], KEYS[3], ARGV[4], ARGV[5], ARGV[3], {ARGV[6]})\n");
        body.push_str("return {1, false}\n");
        indexed(&body)
    } else {
        body.push_str("return {1, false}\n");
        Script::new(&body)
    }
}

/// Delete-if-unchanged: KEYS[1] the key, ARGV[1] the expected version; indexed, also
/// KEYS[2] the index and ARGV[2] the member. Answers 1 when it deleted, else 0.
pub(crate) fn delete_if_version(index: bool) -> Script {
    let mut body = version_check("return 0", "return 0");
    body.push_str("if ver ~= ARGV[1] then return 0 end\nredis.call('UNLINK', KEYS[1])\n");
    if index {
        body.push_str("remove(KEYS[2], {ARGV[2]})\nreturn 1\n");
        indexed(&body)
    } else {
        body.push_str("return 1\n");
        Script::new(&body)
    }
}

/// Whether a collection has a live entry: KEYS = its index, and on one server the
/// collections index; ARGV = the collection. Members live by their score are looked at
/// in score order, each with `EXISTS` on its entry, and the first whose entry exists
/// answers 1; a member whose entry is gone (a raw `DEL`, or a `destroy_collection`
/// whose key scan removed an entry written after the index went) is taken out. A
/// collection with no live entry loses its index (no write can be lost: every member
/// has expired or its entry is gone) and, given the collections index, its name there;
/// on a cluster the caller takes the name out (see `RedisStore::unregister`). Answers 1
/// or 0, or [`UNDECIDED`] after taking out [`CHECK_LIMIT`] members (the caller asks
/// again: one run never blocks the server for long).
pub(crate) static CHECK_COLLECTION: LazyLock<Script> = LazyLock::new(|| {
    indexed(&format!(
        r"
local head = string.sub(KEYS[1], 1, -2)
local now = now_ms()
local gone = 0
while true do
  local live = redis.call('ZRANGE', KEYS[1], '(' .. now, '+inf', 'BYSCORE', 'LIMIT', 0, 100)
  if #live == 0 then break end
  for _, m in ipairs(live) do
    if redis.call('EXISTS', head .. m) == 1 then
      if gone > 0 then settle(KEYS[1]) end
      return 1
    end
    redis.call('ZREM', KEYS[1], m)
    gone = gone + 1
  end
  if gone >= {CHECK_LIMIT} then
    settle(KEYS[1])
    return {UNDECIDED}
  end
end
redis.call('UNLINK', KEYS[1])
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 0
"
    ))
});

/// [`CHECK_COLLECTION`]'s answer when it took out [`CHECK_LIMIT`] members whose
/// entries are gone without finding a live one.
pub(crate) const UNDECIDED: i64 = 2;

/// The most members whose entries are gone one [`CHECK_COLLECTION`] takes out.
pub(crate) const CHECK_LIMIT: usize = 1_000;

/// Indexes entries written without the index (by 0.1, or by a store without
/// `with_index`): KEYS = n data keys, the index, the collections index (optional);
/// ARGV = the namespace head, the collection, the n members. Answers how many it found.
pub(crate) static INDEX_EXISTING: LazyLock<Script> = LazyLock::new(|| {
    indexed(
        r"
local n = #ARGV - 2
local found = 0
for i = 1, n do
  local p = redis.call('PTTL', KEYS[i])
  if p == -1 then
    add(KEYS[n + 1], KEYS[n + 2], ARGV[1], ARGV[2], '', {ARGV[2 + i]})
    found = found + 1
  elseif p > 0 then
    add(KEYS[n + 1], KEYS[n + 2], ARGV[1], ARGV[2], tostring(p), {ARGV[2 + i]})
    found = found + 1
  end
end
return found
",
    )
});

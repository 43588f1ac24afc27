/* Tab completion for the qnnlab REPL. The candidate search is a small Lua function (kept in the
 * registry) so that lazy modules, __index chains and metatables are handled with Lua's own
 * semantics and every error stays inside a protected call; this file turns its answer into
 * readline's match array.
 *
 * "name"      -> globals and keywords
 * "a.b.na"    -> fields of a.b (keys of the table, then of its metatable's __index chain; for
 *                userdata the metatable's __index table and `methods` table)
 * "a.b:me"    -> the same, functions only (methods)
 * Names starting with '_' are offered only when the typed prefix starts with '_'. Completing
 * anything below the qnn module first calls qnn.loadall() once so lazy modules show up. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "host.h"

static const char COMPLETER_KEY[] = "qnnlab.completer";

static const char COMPLETER_SRC[] =
    "local keywords = {'and','break','do','else','elseif','end','false','for','function',\n"
    "  'goto','if','in','local','nil','not','or','repeat','return','then','true','until','while'}\n"
    "local loaded_all = false\n"
    "local function ident(s) return type(s) == 'string' and s:match('^[%a_][%w_]*$') ~= nil end\n"
    "local function index(v, k)\n"
    "  local ok, r = pcall(function() return v[k] end)\n"
    "  if ok then return r end\n"
    "end\n"
    "local function collect(v, methods, out, seen, depth)\n"
    "  if depth > 8 or v == nil or seen[v] then return end\n"
    "  seen[v] = true\n"
    "  if type(v) == 'table' then\n"
    "    for k, x in next, v do\n"
    "      if ident(k) and (not methods or type(x) == 'function' or type(x) == 'table' and\n"
    "          type(getmetatable(x)) == 'table' and getmetatable(x).__call) then\n"
    "        out[k] = x\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  local mt = getmetatable(v)\n"
    "  if type(mt) == 'table' then\n"
    "    if type(mt.__index) == 'table' then collect(mt.__index, methods, out, seen, depth + 1) end\n"
    "    if type(v) ~= 'table' and type(mt.methods) == 'table' then\n"
    "      collect(mt.methods, methods, out, seen, depth + 1)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return function(text)\n"
    "  local head, sep, last = text:match('^(.-)([%.:]?)([%w_]*)$')\n"
    "  if head == nil then return nil end\n"
    "  local names = {}\n"
    "  if sep == '' then\n"
    "    if head ~= '' then return nil end\n"
    "    collect(_G, false, names, {}, 0)\n"
    "    for _, k in ipairs(keywords) do names[k] = names[k] or true end\n"
    "  else\n"
    "    if head == '' or head:find('%.%.') or head:sub(-1) == '.' then return nil end\n"
    "    local v = _G\n"
    "    for seg in head:gmatch('[^.]+') do\n"
    "      if not ident(seg) then return nil end\n"
    "      v = index(v, seg)\n"
    "      if v == nil then return nil end\n"
    "      if not loaded_all then\n"
    "        local q = package.loaded.qnn\n"
    "        if q ~= nil and rawequal(v, q) and type(q) == 'table' and type(rawget(q, 'loadall')) == 'function' then\n"
    "          loaded_all = true\n"
    "          pcall(q.loadall)\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    collect(v, sep == ':', names, {}, 0)\n"
    "  end\n"
    "  local hidden = last:sub(1, 1) ~= '_'\n"
    "  local list = {}\n"
    "  for k in pairs(names) do\n"
    "    if k:sub(1, #last) == last and not (hidden and k:sub(1, 1) == '_') then list[#list + 1] = k end\n"
    "  end\n"
    "  if #list == 0 then return nil end\n"
    "  table.sort(list)\n"
    "  local prefix = head .. sep\n"
    "  local out = {}\n"
    "  for i, k in ipairs(list) do out[i] = prefix .. k end\n"
    "  local append = ''\n"
    "  if #list == 1 then\n"
    "    local x = names[list[1]]\n"
    "    if type(x) == 'function' then append = '(' end\n"
    "  end\n"
    "  return out, append\n"
    "end\n";

/* Pushes the completer function (created on first use). Returns 0 if it cannot be built. */
static int push_completer(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY) == LUA_TFUNCTION) return 1;
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, COMPLETER_SRC, sizeof COMPLETER_SRC - 1, "=(completion)") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
    return 1;
}

static size_t common_prefix(const char *a, const char *b) {
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    return i;
}

/* Frees the strings of a NULL-terminated array (not the array). */
static void free_matches(char **m) {
    for (size_t i = 0; m[i]; i++) free(m[i]);
}

char **host_complete(lua_State *L, const char *text, int *append) {
    *append = 0;
    if (!lua_checkstack(L, 8)) return NULL;
    int top = lua_gettop(L);
    char **m = NULL;
    if (!push_completer(L)) goto done;
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK || !lua_istable(L, -2)) goto done;
    const char *ap = lua_tostring(L, -1);
    if (ap && ap[0]) *append = (unsigned char)ap[0];
    lua_Integer n = luaL_len(L, -2);
    if (n <= 0 || n > 100000) goto done;
    /* readline layout: [0] = common prefix (the unique match itself if n == 1), then the
     * matches when there are several, then NULL */
    size_t slots = (size_t)n + 2;
    m = (char **)calloc(slots, sizeof *m);
    if (!m) goto done;
    size_t lcp = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        const char *s = lua_tostring(L, -1);
        char *c = strdup(s ? s : "");
        lua_pop(L, 1);
        if (!c) {
            free_matches(m + 1);
            free(m);
            m = NULL;
            goto done;
        }
        m[i] = c;
        if (i == 1) {
            lcp = strlen(c);
        } else {
            size_t k = common_prefix(m[1], c);
            if (k < lcp) lcp = k;
        }
    }
    if (n == 1) {
        m[0] = m[1];
        m[1] = NULL;
    } else {
        m[0] = strndup(m[1], lcp);
        if (!m[0]) {
            free_matches(m + 1);
            free(m);
            m = NULL;
        }
    }
done:
    lua_settop(L, top);
    return m;
}

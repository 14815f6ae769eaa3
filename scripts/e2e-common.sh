# Shared by scripts/bench-e2e.sh and scripts/e2e-instructions.sh; sourced, not run.

# Installs each named tool that is missing (a Debian package of the same name) when run as root;
# otherwise stops, naming it.
e2e_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    else
      echo "$tool is missing: apt-get install $tool" >&2
      exit 1
    fi
  done
}

# Builds the hello-world server (target/release/e2e-server) and writes wrk's two request scripts,
# get.lua (an allowed credentialed GET) and preflight.lua, into the directory $1.
e2e_prepare() {
  cargo build --release -q -p trusted-cors-benches --bin e2e-server
  cat >"$1/get.lua" <<'LUA'
wrk.method = "GET"
wrk.headers["Origin"] = "https://portal.example.com"
wrk.headers["Cookie"] = "sid=1"
LUA
  cat >"$1/preflight.lua" <<'LUA'
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://portal.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
LUA
}

# Waits (at most 30 s) until a server listens on 127.0.0.1:$1.
e2e_wait_port() {
  local _
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# Shared by scripts/run, scripts/cluster, scripts/test and scripts/test-package (sourced, not run).

# Debian packages to build Signet and run it behind either web server.
SIGNET_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libfcgi-dev libjson-c-dev libgnutls28-dev nettle-dev uuid-dev libdb5.3-dev
  db5.3-util check curl gnutls-bin"
SIGNET_LIGHTTPD_PACKAGES="lighttpd lighttpd-mod-openssl"
SIGNET_APACHE_PACKAGES="apache2 libapache2-mod-fcgid"
SIGNET_TEST_PACKAGES="python3 python3-pytest python3-requests python3-yaml python3-cryptography openssl gnutls-bin"
# scripts/test-package: build the Debian package, serve it through nginx too.
SIGNET_PACKAGE_PACKAGES="debhelper dpkg-dev fakeroot lintian nginx python3 curl"
# scripts/cluster: three replicated sites behind HAProxy.
SIGNET_CLUSTER_PACKAGES="haproxy curl"
# scripts/test-hosting: suEXEC with a configurable document root.
SIGNET_HOSTING_PACKAGES="apache2-suexec-custom python3 curl"

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (run as root or install sudo)"
  fi
}

# signet_need_packages PKG...: install those not yet installed (apt-get).
signet_need_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get"
  say "Installing Debian packages: ${missing[*]}"
  # Keep the packaged lighttpd/apache2 services from starting on port 80:
  # Signet runs its own instances with its own configuration files.
  local policy=/usr/sbin/policy-rc.d added=
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
  if [ $rc -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" || rc=$?
  fi
  [ -n "$added" ] && as_root rm -f "$policy"
  [ $rc -eq 0 ] || die "apt-get failed ($rc)"
}

# signet_node_packages: nodejs/npm from Debian, only where node/npm are absent
# (a newer node installed otherwise is kept).
signet_node_packages() {
  local pk=()
  command -v node >/dev/null 2>&1 || pk+=(nodejs)
  command -v npm >/dev/null 2>&1 || pk+=(npm)
  [ ${#pk[@]} -eq 0 ] || signet_need_packages "${pk[@]}"
}

signet_jobs() { nproc 2>/dev/null || echo 2; }

# signet_build: build signet.fcgi and signetctl in this tree if missing.
signet_build() {
  if [ ! -x src/signet.fcgi ] || [ ! -x src/signetctl ]; then
    [ -x configure ] || { say "Running autoreconf -fi"; autoreconf -fi; }
    [ -f Makefile ] || { say "Running ./configure"; ./configure; }
    say "Building"
    make -j"$(signet_jobs)"
  fi
}

# signet_app_user SERVER HOME RUNDIR: who the web server runs the app as.
# As root, Apache (and so mod_fcgid's app) must run as an unprivileged user;
# the data directory is then given to that user.  lighttpd runs the app as
# the owner of the data directory (root for a fresh one).  signetctl, run as
# root, switches to the data directory's owner by itself.  Exports
# SIGNET_USER and SIGNET_GROUP; needs SIGNET_FCGI.
signet_app_user() {
  local server=$1 home=$2 rundir=$3 owner
  [ "$(id -u)" = 0 ] || return 0
  owner=$(stat -c %U "$home")
  if [ "$server" = apache ]; then
    export SIGNET_USER=${SIGNET_USER:-$( [ "$owner" != root ] && echo "$owner" || echo www-data )}
  else
    export SIGNET_USER=${SIGNET_USER-$( [ "$owner" != root ] && echo "$owner" || echo "" )}
  fi
  [ -n "$SIGNET_USER" ] || return 0
  export SIGNET_GROUP=${SIGNET_GROUP:-$(id -gn "$SIGNET_USER")}
  chown -R "$SIGNET_USER:$SIGNET_GROUP" "$home" "$rundir"
  if ! runuser -u "$SIGNET_USER" -- sh -c 'test -x "$1" && test -w "$2" && test -w "$3"' \
       sh "$SIGNET_FCGI" "$home" "$rundir"; then
    die "user $SIGNET_USER cannot reach $SIGNET_FCGI, $home or $rundir
       (a parent directory is not searchable for it, e.g. /root).  Clone the
       repository under a directory it can traverse (e.g. /srv or /opt), or
       set SIGNET_HOME and SIGNET_RUNDIR there, or run as a normal user."
  fi
}

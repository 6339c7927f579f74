# shellcheck shell=bash
# Shared by start and stop: settings, paths and process helpers of the test mail stack.

STATE=${MAILSTACK_DIR:-/tmp/postroom-mailstack}
DOMAIN=${MAILSTACK_DOMAIN:-example.test}
MAIL_USER=${MAILSTACK_MAIL_USER:-mail}

# Main listeners (valid certificate).
POP3_PORT=${MAILSTACK_POP3_PORT:-11110}
POP3S_PORT=${MAILSTACK_POP3S_PORT:-11995}
IMAP_PORT=${MAILSTACK_IMAP_PORT:-11143}
IMAPS_PORT=${MAILSTACK_IMAPS_PORT:-11993}
SMTP_PORT=${MAILSTACK_SMTP_PORT:-11025}
SUBMISSION_PORT=${MAILSTACK_SUBMISSION_PORT:-11587}
SMTPS_PORT=${MAILSTACK_SMTPS_PORT:-11465}
# The OAuth2 authorization server of the tests (tests/servers/oauth/server.py); Dovecot's
# oauth2 passdb asks its introspection endpoint about bearer tokens.
OAUTH_PORT=${MAILSTACK_OAUTH_PORT:-11080}
OAUTH_SERVER=$(cd "$(dirname "${BASH_SOURCE[0]}")/../oauth" && pwd)/server.py

# Bad-certificate listeners run beside the main ones: the same services on
# main port + offset, each presenting one broken certificate.
BAD_KINDS="expired selfsigned wronghost"
declare -A BAD_OFFSET=([expired]=1000 [selfsigned]=2000 [wronghost]=3000)

ETC=$STATE/etc
CERTS=$STATE/certs
RUN=$STATE/run
LOGD=$STATE/log
MAILROOT=$STATE/mail
PF_CONF=$ETC/postfix
PF_QUEUE=$STATE/postfix/spool
PF_DATA=$STATE/postfix/data
CAPTURE_MAILDIR=$MAILROOT/capture/Maildir

# Dovecot instances: "main" plus one per bad certificate kind.
DOVECOT_INSTANCES="main $BAD_KINDS"
dovecot_conf() { echo "$ETC/dovecot/$1.conf"; }
dovecot_base() { echo "$RUN/dovecot-$1"; }

log() { printf '[mailstack] %s\n' "$*" >&2 2>/dev/null || true; }
die() { printf '[mailstack] ERROR: %s\n' "$*" >&2; exit 1; }

# Alive = exists and is not a zombie.  An init that reaps orphans late leaves an
# exited master as a zombie, and `kill -0` alone would call it alive.
alive() {
  [ -n "${1:-}" ] || return 1
  local line st
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${line##*) }
  st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
comm_of() { cat "/proc/$1/comm" 2>/dev/null; }

# The master of Dovecot instance $1: from its pid file, else by its exact config path.
dovecot_pid() {
  local conf p
  conf=$(dovecot_conf "$1")
  p=$({ tr -cd "0-9" <"$(dovecot_base "$1")/master.pid"; } 2>/dev/null || true)
  if alive "$p" && [ "$(comm_of "$p")" = dovecot ]; then echo "$p"; return; fi
  for p in $(grep -lx dovecot /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3); do
    if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "-c $conf"; then
      alive "$p" && echo "$p" && return
    fi
  done
}

postfix_pid() {
  local p
  p=$({ tr -cd "0-9" <"$PF_QUEUE/pid/master.pid"; } 2>/dev/null || true)
  if alive "$p" && [ "$(comm_of "$p")" = master ]; then echo "$p"; return; fi
  for p in $(grep -lx master /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3); do
    if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "MAIL_CONFIG=$PF_CONF"; then
      alive "$p" && echo "$p" && return
    fi
  done
}

port_listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# The OAuth2 server of this stack: from its pid file, else by "--state-dir $STATE" in its
# command line (the checkout it was started from may be another one).
oauth_pid() {
  local p
  p=$({ tr -cd "0-9" <"$RUN/oauth.pid"; } 2>/dev/null || true)
  for p in $p $(grep -l -- "--state-dir" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null |
      grep -qE -- "/oauth/server\.py .*--state-dir $STATE( |\$)"; then
      alive "$p" && echo "$p" && return
    fi
  done
}

stop_oauth() {
  local p _
  p=$(oauth_pid)
  if [ -z "$p" ]; then
    rm -f "$RUN/oauth.pid" "$RUN/oauth.fingerprint"
    return 1
  fi
  kill -TERM "$p" 2>/dev/null
  for _ in $(seq 50); do
    alive "$p" || break
    sleep 0.1
  done
  alive "$p" && kill -KILL "$p" 2>/dev/null
  rm -f "$RUN/oauth.pid" "$RUN/oauth.fingerprint"
  log "oauth2 server stopped"
}

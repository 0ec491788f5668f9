#!/bin/sh
# --session-cmd hook for oidc-loadgen: signs in through Gatehouse's real
# sign-in form with curl and prints the session cookie as a Cookie header value.
#
# oidc-loadgen sets OIDC_AUTHORIZATION_ENDPOINT OIDC_CLIENT_ID OIDC_REDIRECT_URI
# OIDC_SCOPE OIDC_ISSUER; BENCH_USERNAME and BENCH_PASSWORD name the user
# (default bench / bench-password).
set -eu
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
jar=$(mktemp)
page=$(mktemp)
trap 'rm -f "$jar" "$page"' EXIT
url="$OIDC_AUTHORIZATION_ENDPOINT?response_type=code&client_id=$(enc "$OIDC_CLIENT_ID")&redirect_uri=$(enc "$OIDC_REDIRECT_URI")&scope=$(enc "${OIDC_SCOPE:-openid}")&state=hook&nonce=hook"
login=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$url")
curl -s -c "$jar" -b "$jar" -o "$page" "$login"
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$page" | head -n 1; }
curl -s -c "$jar" -b "$jar" -o /dev/null \
    --data-urlencode "csrf_token=$(field csrf_token)" \
    --data-urlencode "request=$(field request)" \
    --data-urlencode "username=${BENCH_USERNAME:-bench}" \
    --data-urlencode "password=${BENCH_PASSWORD:-bench-password}" \
    "${OIDC_ISSUER%/}/login"
awk -F'\t' 'NF >= 7 && $6 ~ /gatehouse_session$/ { printf "%s%s=%s", sep, $6, $7; sep = "; " } END { print "" }' "$jar"

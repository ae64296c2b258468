#!/bin/sh
# Squid drops to the proxy user: give it its log and spool directories (tmpfs
# in the stack), then run in the foreground.
set -e
install -d -o proxy -g proxy /var/log/squid /var/spool/squid
exec squid "$@"

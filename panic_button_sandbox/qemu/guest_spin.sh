#!/bin/busybox sh
# /bin/pb-spin in the first guest: a user-space busy loop that never sleeps (the rt-spin hang).
while :; do :; done

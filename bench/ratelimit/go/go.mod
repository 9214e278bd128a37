module msb.bench/ratelimit

go 1.24.0

require golang.org/x/time v0.13.0

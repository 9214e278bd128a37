module libmsb/bench/http/go

go 1.22

// The peer of bench/ratelimit: golang.org/x/time/rate's Limiter.Allow() on the same workload as
// bench.c — a limit high enough that every call is granted (1e9 a second, burst 1e9), called in a
// loop by one goroutine, then by two at once on one limiter (GOMAXPROCS=2). ns/op is wall time
// over all calls of all goroutines; each case runs -reps times and prints its median.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

func run(threads, ops int) (float64, float64) {
	lim := rate.NewLimiter(rate.Limit(1e9), 1000000000)
	var wg sync.WaitGroup
	granted := make([]int, threads)
	start := make(chan struct{})
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			<-start
			n := 0
			for i := 0; i < ops; i++ {
				if lim.Allow() {
					n++
				}
			}
			granted[t] = n
		}(t)
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	total := 0
	for _, g := range granted {
		total += g
	}
	return float64(el.Nanoseconds()) / float64(threads*ops), float64(total) / float64(threads*ops)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func main() {
	ops := flag.Int("ops", 5000000, "calls per goroutine")
	reps := flag.Int("reps", 5, "repetitions; the median is printed")
	flag.Parse()
	runtime.GOMAXPROCS(2)
	for _, threads := range []int{1, 2} {
		ns := make([]float64, *reps)
		var allowed float64
		for r := 0; r < *reps; r++ {
			ns[r], allowed = run(threads, *ops)
		}
		fmt.Printf("go x/time/rate %d %.2f %.4f\n", threads, median(ns), allowed)
	}
}
